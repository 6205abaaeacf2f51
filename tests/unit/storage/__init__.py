"""Unit tests of ``realtime_uploads/storage/``."""
