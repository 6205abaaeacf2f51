from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.static import serve

from realtime_uploads.storage import backend_class
from realtime_uploads.storage.local import LocalBackend

from .views import demo

urlpatterns = [
    path("", demo, name="demo"),
    path("admin/", admin.site.urls),
    path("api/", include("realtime_uploads.urls")),
]

if issubclass(backend_class(), LocalBackend):
    # The local backend keeps variants in MEDIA_ROOT; serve only the variants
    # (originals stay private, as in a private bucket). Production uses S3.
    variants = settings.REALTIME_UPLOADS.get("VARIANT_PREFIX", "variants/")
    urlpatterns += [
        re_path(
            rf"^{settings.MEDIA_URL.lstrip('/')}{variants}(?P<path>.+)$",
            serve,
            {"document_root": settings.MEDIA_ROOT / variants},
        )
    ]
