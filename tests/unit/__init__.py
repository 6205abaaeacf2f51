"""Unit tests, one folder per part of the package (``realtime_uploads/<part>/``): each checks its part, with real
services where the part talks to one (a database, Redis, moto's S3)."""
