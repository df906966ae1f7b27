"""Helpers that walk a participant through the annotator pages with Django's test client."""

import re

from django.test import Client

from studies.models import Participant

ITEM_URL = re.compile(r"/item/(\d+)/$")
CHECK_VALUE = re.compile(rb"\((\d)\) for every statement")


def entry_link(study, pid: str = "") -> str:
    """The study's entry link, as Prolific sends it (no Prolific ids when pid is empty)."""
    params = f"?PROLIFIC_PID={pid}&STUDY_ID=S1&SESSION_ID=session-{pid}" if pid else ""
    return f"/s/{study.entry_token}/{params}"


def enter(client: Client, study, pid: str = "", **request_meta):
    """Open the entry link (GET): the consent page, or a returning participant's own page."""
    return client.get(entry_link(study, pid), **request_meta)


def agree(client: Client, study, pid: str = "", consent: str = "yes", **request_meta):
    """Open the entry link and answer the consent question there (the POST that creates the participant)."""
    enter(client, study, pid, **request_meta)
    return client.post(entry_link(study, pid), {"consent": consent}, **request_meta)


def position_of(response) -> int:
    """The item a response's page is about: its URL (after redirects) ends in /item/<position>/."""
    url = (
        response.redirect_chain[-1][0] if getattr(response, "redirect_chain", None) else response["Location"]
    )
    return int(ITEM_URL.search(url).group(1))


def participant_for(pid: str) -> Participant:
    return Participant.objects.get(prolific_pid=pid)


def through_to_items(client: Client, study, pid: str) -> Participant:
    """Enter, agree, read the instructions, answer the demographics: the next page is item 1."""
    assert agree(client, study, pid).status_code == 302
    participant = participant_for(pid)
    base = f"/s/p/{participant.token}"
    assert client.post(f"{base}/instructions/").status_code == 302
    assert client.post(f"{base}/about-you/", {"age_group": "25–34", "english": "Fluent"}).status_code == 302
    return participant


def ratings_for(page: bytes, value: int = 4) -> dict:
    """Answers for the item page shown: the instructed value on an attention check, else `value`."""
    check = CHECK_VALUE.search(page)
    rating = int(check.group(1)) if check else value
    names = ["plausibility", "understandability", "completeness", "satisfaction", "contrastiveness"]
    return {name: rating for name in names}


def item_url(participant: Participant, position: int) -> str:
    return f"/s/p/{participant.token}/item/{position}/"


def current_item(client: Client, participant: Participant):
    """Follow /item/ to the page of the item handed out now; returns (position, page)."""
    page = client.get(f"/s/p/{participant.token}/item/", follow=True)
    assert page.status_code == 200, page.status_code
    return position_of(page), page


def rate_current_item(client: Client, participant: Participant, value: int = 4):
    """Open the current item's page and submit answers for it; returns (position, POST response)."""
    position, page = current_item(client, participant)
    return position, client.post(item_url(participant, position), ratings_for(page.content, value))
