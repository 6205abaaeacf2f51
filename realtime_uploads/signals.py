"""Signals for application code, sent after the change has been committed.

Both are sent with ``sender=Upload`` and ``upload=<Upload>``::

    from django.dispatch import receiver
    from realtime_uploads.signals import upload_completed

    @receiver(upload_completed)
    def attach_avatar(sender, upload, **kwargs):
        ...

A receiver that raises does not undo the change (it is already committed)
but does propagate, as Django's ``Signal.send`` does.
"""

from django.dispatch import Signal

upload_completed = Signal()
upload_failed = Signal()
