from django.core.management.base import BaseCommand

from realtime_uploads.state.expiry import uploads_expire


class Command(BaseCommand):
    help = (
        "End every upload past its deadline and push that to its subscribers: pending uploads whose presigned "
        "POST expired more than EXPIRE_GRACE seconds ago become expired (failed/timeout if their file did "
        "arrive), processing uploads silent for PROCESSING_TIMEOUT seconds become failed/timeout. Run it from "
        "cron every few minutes (the local backend's sweep already does this in the web process)."
    )

    def handle(self, *args, **options):
        count = uploads_expire()
        self.stdout.write(f"{count} upload(s) ended by their deadline.")
