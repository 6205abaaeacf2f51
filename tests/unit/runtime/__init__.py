"""Unit tests of ``realtime_uploads/runtime/``."""
