"""The processor: one object in, variants stored and callbacks sent. No Django: it ships to AWS Lambda.

Entry points, each a thin shell around :mod:`.pipeline`:

- :mod:`.lambda_handler`: AWS Lambda (S3 event notifications, direct or through SQS);
- :mod:`.worker`: the SQS long-poll worker (``realtime-uploads-worker``);
- :mod:`.dispatcher`: the local backend's in-process thread pool;
- :mod:`.s3`, :mod:`.s3_events`: reading S3 and its event notifications; :mod:`.provision`: a local stack's
  bucket, queue and notification;
- :mod:`.callback_client`: the signed callback to Django.

The work itself: :mod:`.image` (identify, decode within limits, render, encode, placeholder), :mod:`.avif`
(what an AVIF will make its decoder allocate), :mod:`.sandbox` (render in a child the kernel bounds),
:mod:`.config` (from settings or the environment). ``tests/unit/processing/test_no_django.py`` and
``tests/unit/test_layout.py`` keep it free of Django.
"""
