"""URLs of the REST API. Include under ``api/``: ``path("api/", include("realtime_uploads.urls"))``."""

from django.apps import apps
from django.urls import path, re_path

from realtime_uploads.callback.views import upload_callback
from realtime_uploads.local.files import local_download, local_file
from realtime_uploads.local.post_object import local_upload
from realtime_uploads.presign.download import upload_download
from realtime_uploads.presign.views import UploadBatchCreateApi, UploadCreateApi
from realtime_uploads.push.views import upload_detail

app_name = "realtime_uploads"

urlpatterns = [
    path("uploads/", UploadCreateApi.as_view(), name="upload-create"),
    path("uploads/local/", local_upload, name="local-upload"),
    # The local backend's variants (never an original: 404 outside VARIANT_PREFIX) and signed downloads.
    re_path(r"^uploads/local/files/(?P<path>[\s\S]*)$", local_file, name="local-file"),  # any key, newlines too
    path("uploads/local/download/<str:token>/", local_download, name="local-download"),
    path("uploads/batch/", UploadBatchCreateApi.as_view(), name="upload-batch-create"),
    path("uploads/<str:upload_id>/", upload_detail, name="upload-status"),
    path("uploads/<str:upload_id>/callback/", upload_callback, name="upload-callback"),
    path("uploads/<str:upload_id>/download/", upload_download, name="upload-download"),
]

# The OpenAPI document only with drf-spectacular installed (the "schema" extra); Swagger UI only when its
# template's app is in INSTALLED_APPS too.
try:
    from realtime_uploads import schema  # registers the presign views' schema extensions
except ModuleNotFoundError as exc:
    if not (exc.name or "").startswith("drf_spectacular"):
        raise
else:
    urlpatterns.append(path("schema/", schema.SchemaView.as_view(), name="schema"))
    if apps.is_installed("drf_spectacular"):
        urlpatterns.append(path("schema/swagger/", schema.SwaggerView.as_view(), name="schema-swagger"))
