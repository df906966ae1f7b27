"""Prolific's side of a study's entry link: the ids it carries, their format, and the link itself.

Prolific fills the link's placeholders for each participant; the entry view reads the same parameters back.
"""

import re

from django.urls import reverse

from .models import Study

# Prolific's name of each id in the link (participant, study, session).
PARAMETERS = ("PROLIFIC_PID", "STUDY_ID", "SESSION_ID")
ID_FORMAT = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def study_entry_url(request, study: Study) -> str:
    """The link to give Prolific, absolute, with a placeholder for each id."""
    base = request.build_absolute_uri(reverse("studies:entry", args=[study.entry_token]))
    return base + "?" + "&".join(f"{name}={{{{%{name}%}}}}" for name in PARAMETERS)


def link_ids(request) -> dict[str, str]:
    """The ids a request to the entry link carries, by parameter name ("" for a missing one)."""
    return {name: request.GET.get(name, "").strip() for name in PARAMETERS}
