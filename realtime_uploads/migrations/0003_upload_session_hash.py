from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('realtime_uploads', '0002_object_etag'),
    ]

    operations = [
        migrations.AddField(
            model_name='upload',
            name='session_hash',
            field=models.CharField(blank=True, db_index=True, help_text="Anonymous uploads: an HMAC of the presigning session's key (for the history list), else blank.", max_length=64),
        ),
    ]
