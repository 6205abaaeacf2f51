from django.contrib import admin
from django.urls import include, path

from .views import demo

# The app's URLs serve the local backend's variants themselves (never its originals): nothing else to add.
urlpatterns = [
    path("", demo, name="demo"),
    path("admin/", admin.site.urls),
    path("api/", include("realtime_uploads.urls")),
]
