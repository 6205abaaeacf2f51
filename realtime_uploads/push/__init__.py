"""Push: events reach browsers over the channel layer, on sockets and long-polls, and again after a Redis outage.

- :mod:`.layers`, :mod:`.layer_settings`: the Redis Pub/Sub channel layer that says when it may have missed
  messages, and the ``CHANNEL_LAYERS`` entry that uses it;
- :mod:`.resync`: re-send every local subscriber the truth after a reconnect;
- :mod:`.subscriptions`, :mod:`.socket_caps`: what a socket follows, and how many sockets a client holds
  (the consumers themselves are in :mod:`realtime_uploads.consumers`);
- :mod:`.status`, :mod:`.views`, :mod:`.longpoll`: the status GET and its long-poll.
"""
