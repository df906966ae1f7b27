"""Helpers that walk a participant through the annotator pages with Django's test client."""

import re

from django.test import Client

from studies.models import Participant

POSITION = re.compile(rb'name="position" value="(\d+)"')
CHECK_VALUE = re.compile(rb"\((\d)\) for every statement")


def enter(client: Client, study, pid: str = "", **request_meta):
    """Follow the study's entry link, as Prolific sends it (no Prolific ids when pid is empty)."""
    params = {"PROLIFIC_PID": pid, "STUDY_ID": "S1", "SESSION_ID": f"session-{pid}"} if pid else {}
    return client.get(f"/s/{study.entry_token}/", params, **request_meta)


def participant_for(pid: str) -> Participant:
    return Participant.objects.get(prolific_pid=pid)


def through_to_items(client: Client, study, pid: str) -> Participant:
    """Enter, agree, read the instructions, answer the demographics: the next page is item 1."""
    assert enter(client, study, pid).status_code == 302
    participant = participant_for(pid)
    base = f"/s/p/{participant.token}"
    assert client.post(f"{base}/consent/", {"consent": "yes"}).status_code == 302
    assert client.post(f"{base}/instructions/").status_code == 302
    assert client.post(f"{base}/about-you/", {"age_group": "25–34", "english": "Fluent"}).status_code == 302
    return participant


def ratings_for(page: bytes, value: int = 4) -> dict:
    """Answers for the item page shown: the instructed value on an attention check, else `value`."""
    check = CHECK_VALUE.search(page)
    rating = int(check.group(1)) if check else value
    names = ["plausibility", "understandability", "completeness", "satisfaction", "contrastiveness"]
    return {name: rating for name in names}


def rate_current_item(client: Client, participant: Participant, value: int = 4):
    """GET the item page and submit answers for it; returns (position, POST response)."""
    page = client.get(f"/s/p/{participant.token}/item/")
    assert page.status_code == 200, page.status_code
    position = int(POSITION.search(page.content).group(1))
    data = {"position": position, **ratings_for(page.content, value)}
    return position, client.post(f"/s/p/{participant.token}/item/", data)
