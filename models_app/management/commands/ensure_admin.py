import secrets
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from distill_site.settings import VAR_DIR


def credentials_file() -> Path:
    return VAR_DIR / "admin_credentials.txt"


class Command(BaseCommand):
    help = "Create the admin account if missing and print its credentials once (they are also kept in var/)."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")

    def handle(self, *args, username, **options):
        User = get_user_model()
        credentials = credentials_file()
        if User.objects.filter(username=username).exists():
            where = f" (see {credentials})" if credentials.exists() else ""
            self.stdout.write(
                f"Admin account '{username}' exists{where}; change it with: manage.py changepassword {username}"
            )
            return
        password = secrets.token_urlsafe(12)
        User.objects.create_superuser(username=username, email="", password=password)
        credentials.parent.mkdir(parents=True, exist_ok=True)
        credentials.write_text(f"username: {username}\npassword: {password}\n")
        credentials.chmod(0o600)
        self.stdout.write(
            self.style.SUCCESS(f"Created admin account  username: {username}  password: {password}")
        )
