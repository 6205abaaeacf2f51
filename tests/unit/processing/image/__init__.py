"""Unit tests of ``realtime_uploads/processing/image/``."""
