"""Unit tests of ``realtime_uploads/callback/``."""
