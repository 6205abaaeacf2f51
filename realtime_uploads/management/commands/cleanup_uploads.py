"""``manage.py cleanup_uploads``: the retention of :mod:`realtime_uploads.state.retention`, from cron."""

from django.core.management.base import BaseCommand, CommandError

from realtime_uploads.state import purge
from realtime_uploads.state.retention import LIMIT, uploads_cleanup


def _size(count: int) -> str:
    """``count`` bytes for people: ``"200 bytes"``, ``"1.5 MiB (1572864 bytes)"``."""
    if count < 1024:
        return f"{int(count)} bytes"
    scaled = float(count)
    for unit in ("KiB", "MiB", "GiB"):
        scaled /= 1024
        if scaled < 1024 or unit == "GiB":
            break
    return f"{scaled:.1f} {unit} ({count} bytes)"


class Command(BaseCommand):
    help = (
        "Delete the uploads the retention settings say should go, with their stored files: failed, expired and "
        "cancelled ones RETAIN_UNFINISHED seconds after they ended (default a day), and, when "
        "RETAIN_UNREFERENCED is set, completed ones no model points to. At most --limit per run, oldest first; "
        "safe to run on several hosts at once. Run it from cron (hourly is plenty); the local backend's sweep "
        "runs it in the web process."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Count what would go; delete nothing.")
        parser.add_argument("--limit", type=int, default=LIMIT,
                            help=f"Most uploads to delete in this run (default {LIMIT}).")

    def handle(self, *args, dry_run=False, limit=LIMIT, **options):
        if limit < 1:
            raise CommandError(f"--limit must be at least 1, got {limit}.")
        with purge.synchronously() as left:  # the files are deleted (or given up on) before the command reports
            result = uploads_cleanup(limit=limit, dry_run=dry_run)
        if dry_run:
            self.stdout.write(f"{result.removed} upload(s) would be deleted, {_size(result.bytes)} would be freed. "
                              "Dry run: nothing was deleted.")
        else:
            self.stdout.write(f"{result.removed} upload(s) deleted, {_size(result.bytes)} freed.")
            if left:
                raise CommandError(f"{len(left)} stored object(s) of the deleted uploads could not be deleted "
                                   f"(storage failed {purge.ATTEMPTS} times; the log names them): "
                                   f"{', '.join(left[:10])}{' …' if len(left) > 10 else ''}")
