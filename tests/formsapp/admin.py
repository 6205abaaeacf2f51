from django.contrib import admin

from realtime_uploads.forms import UploadAdminMixin

from .models import Profile


@admin.register(Profile)
class ProfileAdmin(UploadAdminMixin, admin.ModelAdmin):
    fields = ["name", "photo", "gallery"]
