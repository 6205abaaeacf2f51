"""Unit tests of ``realtime_uploads/core/``."""
