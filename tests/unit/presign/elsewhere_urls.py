"""A URLconf that mounts the API somewhere else than ``api/``: the answers must follow it (reverse())."""

from django.urls import include, path

urlpatterns = [path("files/v2/", include("realtime_uploads.urls"))]
