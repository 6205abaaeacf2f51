"""Upload state: the database is the source of truth, and the events are news of it.

- :mod:`.services` (and :mod:`.expiry`): the only writers; every change bumps ``seq`` and publishes after commit;
- :mod:`.statements`: the hot path's one-statement state change and variant insert;
- :mod:`.selectors`, :mod:`.snapshots`: the reads, batched where many subscribers ask at once;
- :mod:`.access`: who may follow an upload (its owner, or its subscribe token);
- :mod:`.events`: the event's shape; :mod:`.outbox`: sending it after commit, on the event loop.
"""
