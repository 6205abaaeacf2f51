"""Unit tests of ``realtime_uploads/processing/avif/``."""
