"""Admin for uploads: browse, filter by status, see variants. State is read-only here:
only the services change it, so the admin cannot skip a seq or an event."""

from django.contrib import admin

from .models import Upload, Variant


class VariantInline(admin.TabularInline):
    model = Variant
    extra = 0
    can_delete = False
    readonly_fields = ("name", "key", "width", "height", "format", "size")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Upload)
class UploadAdmin(admin.ModelAdmin):
    list_display = ("id", "filename", "status", "seq", "size", "owner", "created_at", "updated_at")
    list_filter = ("status", "content_type", "created_at")
    search_fields = ("id", "filename", "key", "owner__username", "error_code")
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in Upload._meta.fields]
    inlines = [VariantInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
