"""Unit tests of ``realtime_uploads/presign/``."""
