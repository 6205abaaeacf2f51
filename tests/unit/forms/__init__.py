"""Unit tests of ``realtime_uploads/forms/``."""
