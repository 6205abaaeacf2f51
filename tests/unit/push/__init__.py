"""Unit tests of ``realtime_uploads/push/``."""
