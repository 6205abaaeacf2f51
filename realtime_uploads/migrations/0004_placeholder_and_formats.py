from django.db import migrations, models


class Migration(migrations.Migration):
    """Contract 0.2: the upload's placeholder and dominant colour, a variant's formats and animation."""

    dependencies = [("realtime_uploads", "0003_upload_session_hash")]

    operations = [
        migrations.AddField(
            model_name="upload",
            name="placeholder",
            field=models.CharField(
                blank=True, help_text="ThumbHash of the image (base64), shown while a variant loads.", max_length=64
            ),
        ),
        migrations.AddField(
            model_name="upload",
            name="color",
            field=models.CharField(blank=True, help_text="Dominant colour, #rrggbb.", max_length=7),
        ),
        migrations.AddField(
            model_name="variant",
            name="animated",
            field=models.BooleanField(default=False),
        ),
        migrations.AddField(
            model_name="variant",
            name="formats",
            field=models.JSONField(blank=True, default=list),
        ),
    ]
