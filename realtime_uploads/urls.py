"""URLs of the REST API. Include under ``api/``: ``path("api/", include("realtime_uploads.urls"))``."""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from realtime_uploads import schema  # registers the presign view's schema extension
from realtime_uploads.callback.views import upload_callback
from realtime_uploads.local.post_object import local_upload
from realtime_uploads.presign.views import UploadBatchCreateApi, UploadCreateApi
from realtime_uploads.push.views import upload_status

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
