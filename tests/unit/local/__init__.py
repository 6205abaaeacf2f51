"""Unit tests of ``realtime_uploads/local/``."""
