from django.core.management.base import BaseCommand

from models_app.services import fail_stale_runs


class Command(BaseCommand):
    help = (
        "Declare attempts whose worker stopped sending heartbeats dead and mark their runs failed "
        "(Celery beat runs this every RUN_HEARTBEAT_INTERVAL seconds)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--timeout", type=int, default=None, help="Seconds without a heartbeat (default: setting)."
        )

    def handle(self, *args, timeout, **options):
        count = fail_stale_runs(timeout_seconds=timeout)
        self.stdout.write(f"{count} stale run(s) marked failed")
