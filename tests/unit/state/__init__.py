"""Unit tests of ``realtime_uploads/state/``."""
