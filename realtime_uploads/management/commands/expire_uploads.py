from django.core.management.base import BaseCommand

from ...services import uploads_expire


class Command(BaseCommand):
    help = (
        "Mark pending uploads whose presigned POST expired more than EXPIRE_GRACE seconds ago "
        "as expired (and push that to their subscribers). Run it from cron every few minutes."
    )

    def handle(self, *args, **options):
        count = uploads_expire()
        self.stdout.write(f"{count} upload(s) expired.")
