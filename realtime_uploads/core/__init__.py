"""Django-free code both sides share: the web app and the processor (AWS Lambda, the SQS worker).

Nothing here imports Django, nor any other part of ``realtime_uploads``: the Lambda package ships it.

- :mod:`.settings_schema`, :mod:`.setting_kinds`, :mod:`.environment`, :mod:`.settings_reference`: every
  setting in one table, validated the same way from ``REALTIME_UPLOADS`` or the environment;
- :mod:`.errors`: the base of every error, the processor's errors and the stable failure codes;
- :mod:`.keys`, :mod:`.formats`, :mod:`.variants`: object keys, image formats, what a variant is asked to be;
- :mod:`.signing`: the callback's HMAC signature;
- :mod:`.addresses`: a client's address behind trusted proxies;
- :mod:`.s3_client`, :mod:`.object_store`: the S3 client and the store the processor reads and writes;
- :mod:`.generated_secrets`: the demo's per-checkout secrets.
"""
