"""URLs of the REST API. Include under ``api/``: ``path("api/", include("realtime_uploads.api.urls"))``."""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from . import schema  # registers the presign view's schema extension
from .local_upload import local_upload
from .views import UploadBatchCreateApi, UploadCreateApi, upload_callback, upload_status

app_name = "realtime_uploads"

urlpatterns = [
    path("uploads/", UploadCreateApi.as_view(), name="upload-create"),
    path("uploads/local/", local_upload, name="local-upload"),
    path("uploads/batch/", UploadBatchCreateApi.as_view(), name="upload-batch-create"),
    path("uploads/<str:upload_id>/", upload_status, name="upload-status"),
    path("uploads/<str:upload_id>/callback/", upload_callback, name="upload-callback"),
    path("schema/", SpectacularAPIView.as_view(custom_settings=schema.SPECTACULAR_SETTINGS), name="schema"),
    path("schema/swagger/", SpectacularSwaggerView.as_view(url_name="realtime_uploads:schema"), name="schema-swagger"),
]
