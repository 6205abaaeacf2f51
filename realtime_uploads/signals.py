"""Signals for application code, sent after the change has been committed.

Both are sent with ``sender=Upload`` and ``upload=<Upload>``::

    from django.dispatch import receiver
    from realtime_uploads.signals import upload_completed

    @receiver(upload_completed)
    def attach_avatar(sender, upload, **kwargs):
        ...

They are sent with Django's ``Signal.send_robust``: a receiver that raises
cannot undo the change (it is already committed) nor turn it into an error
answer; its exception is logged (logger ``django.dispatch``) and the other
receivers still run.
"""

from django.dispatch import Signal

upload_completed = Signal()
upload_failed = Signal()
