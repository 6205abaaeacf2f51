"""Admin for uploads: browse, filter by status, see variants. State is read-only here:
only the services change it, so the admin cannot skip a seq or an event.

The change page shows how a completed upload looks while it loads (a swatch of
its dominant colour, the colour and the ThumbHash as text; decoding the hash
would need JavaScript) and, per variant, every file: format, size and key, the
fallback last. Every value is escaped (format_html)."""

import re

from django.contrib import admin
from django.utils.html import format_html, format_html_join

from realtime_uploads.models import Upload, Variant

_COLOR = re.compile(r"#[0-9A-Fa-f]{6}")
_SWATCH = ("display:inline-block;width:1.5em;height:1.5em;margin-right:.5em;vertical-align:middle;"
           "border:1px solid #8888;border-radius:3px;background-color:{}")


class VariantInline(admin.TabularInline):
    model = Variant
    extra = 0
    can_delete = False
    fields = ("name", "key", "width", "height", "format", "size", "animated", "files")
    readonly_fields = fields

    @admin.display(description="files (in order of preference, the fallback last)")
    def files(self, variant: Variant):
        files = variant.files()
        return format_html(
            '<ol style="margin:0;padding-left:1.2em">{}</ol>',
            format_html_join("", "<li><strong>{}</strong> {} bytes{} <code>{}</code></li>", (
                (f.get("format", ""), f.get("size", ""), " (fallback)" if i == len(files) - 1 else "", f.get("key", ""))
                for i, f in enumerate(files)
            )),
        )

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Upload)
class UploadAdmin(admin.ModelAdmin):
    list_display = ("id", "filename", "status", "seq", "size", "owner", "created_at", "updated_at")
    list_filter = ("status", "content_type", "created_at")
    search_fields = ("id", "filename", "key", "owner__username", "error_code")
    date_hierarchy = "created_at"
    fields = [name for f in Upload._meta.fields for name in ([f.name, "look"] if f.name == "color" else [f.name])]
    readonly_fields = fields
    inlines = [VariantInline]

    @admin.display(description="placeholder")
    def look(self, upload: Upload):
        """A swatch of the colour (only when it is #rrggbb: it goes into a style attribute), the colour, the hash."""
        if not upload.color and not upload.placeholder:
            return "-"
        swatch = format_html('<span style="{}"></span>', _SWATCH.format(upload.color.lower())) \
            if _COLOR.fullmatch(upload.color) else ""
        return format_html("{}<code>{}</code> <code>{}</code>", swatch, upload.color or "-", upload.placeholder or "-")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
