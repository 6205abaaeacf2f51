from django.db import migrations, models


class Migration(migrations.Migration):
    """Contract 0.3: the terminal status ``cancelled`` (``DELETE /api/uploads/<id>/`` of an unfinished upload)."""

    dependencies = [("realtime_uploads", "0004_placeholder_and_formats")]

    operations = [
        migrations.AlterField(
            model_name="upload",
            name="status",
            field=models.CharField(
                choices=[("pending", "Pending"), ("processing", "Processing"), ("completed", "Completed"),
                         ("failed", "Failed"), ("expired", "Expired"), ("cancelled", "Cancelled")],
                db_index=True, default="pending", max_length=16,
            ),
        ),
    ]
