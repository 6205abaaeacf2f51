import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("formsapp", "0001_initial"),
        ("realtime_uploads", "0005_cancelled_status"),
    ]

    operations = [
        migrations.CreateModel(
            name="Avatar",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("upload", models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name="+",
                                                to="realtime_uploads.upload")),
            ],
        ),
    ]
