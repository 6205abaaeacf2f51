"""The processor: Django-free image code and its thin entry points.

Nothing in this package imports Django, so it can be packaged on its own for
AWS Lambda or an SQS worker. ``tests/test_processing_isolation.py`` keeps it so.
"""
