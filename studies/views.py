"""Annotator pages, under /s/: entry link, then one page per stage, reached by the participant's token.

Each stage view first asks `participation.stage` where the participant is and redirects there when the
request is for another stage: the server, not the browser, decides what comes next.
"""

import re
from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache

from models_app.models import OPTION_LABELS

from . import participation, ratelimit
from .forms import ConsentForm, DemographicsForm, RatingForm
from .models import Participant, Study
from .participation import Stage

PROLIFIC_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

STAGE_URLS = {
    Stage.CONSENT: "studies:consent",
    Stage.INSTRUCTIONS: "studies:instructions",
    Stage.DEMOGRAPHICS: "studies:demographics",
    Stage.ITEMS: "studies:item",
    Stage.COMPLETED: "studies:done",
    Stage.SCREENED_OUT: "studies:screened-out",
}


def _stage_redirect(participant: Participant):
    return redirect(STAGE_URLS[participation.stage(participant)], token=participant.token)


def _message(
    request, title: str, text: str, status: int, study: Study | None = None, continue_url: str = ""
) -> HttpResponse:
    context = {"title": title, "text": text, "study": study, "continue_url": continue_url}
    return render(request, "studies/message.html", context, status=status)


@never_cache
def entry(request, entry_token: str):
    """The link participants follow, e.g. from Prolific with ?PROLIFIC_PID=…&STUDY_ID=…&SESSION_ID=…"""
    if not ratelimit.allow(
        scope="study-entry", key=ratelimit.client_address(request), per_minute=settings.STUDY_ENTRY_RATE_LIMIT
    ):
        return _message(request, "Too many attempts", "Please wait a minute and open the link again.", 429)
    study = get_object_or_404(Study, entry_token=entry_token)
    ids = {key: request.GET.get(key, "").strip() for key in ("PROLIFIC_PID", "STUDY_ID", "SESSION_ID")}
    if any(value and not PROLIFIC_ID.match(value) for value in ids.values()):
        return _message(
            request,
            "This link is incomplete",
            "The study link does not carry a valid Prolific ID. Please open the study again from Prolific.",
            400,
            study,
        )
    try:
        participant = participation.enter_study(
            study=study,
            prolific_pid=ids["PROLIFIC_PID"],
            prolific_study_id=ids["STUDY_ID"],
            prolific_session_id=ids["SESSION_ID"],
            user_agent=request.META.get("HTTP_USER_AGENT", ""),
        )
    except participation.StudyNotOpen:
        return _message(
            request,
            "This study is not open",
            "This study is not taking participants at the moment.",
            403,
            study,
        )
    except participation.EntryRefused:
        return _message(
            request,
            "This link is incomplete",
            "The study link does not carry your Prolific ID. Please open the study again from Prolific.",
            400,
            study,
        )
    return redirect("studies:participant", token=participant.token)


def participant_page(page_stage: Stage):
    """Load the participant by token (404 if unknown); send them to their own stage if this is not it."""

    def decorator(view):
        @wraps(view)
        @never_cache
        def wrapper(request, token: str):
            participant = get_object_or_404(Participant.objects.select_related("study"), token=token)
            participation.resume(participant=participant)
            if participation.stage(participant) != page_stage:
                return _stage_redirect(participant)
            return view(request, participant)

        return wrapper

    return decorator


@never_cache
def participant_home(request, token: str):
    participant = get_object_or_404(Participant.objects.select_related("study"), token=token)
    return _stage_redirect(participant)


@participant_page(Stage.CONSENT)
def consent(request, participant: Participant):
    if request.method == "POST":
        form = ConsentForm(request.POST)
        if form.is_valid():
            participation.record_consent(
                participant=participant, agreed=form.cleaned_data["consent"] == "yes"
            )
            return _stage_redirect(participant)
    return render(request, "studies/consent.html", {"participant": participant, "study": participant.study})


@participant_page(Stage.INSTRUCTIONS)
def instructions(request, participant: Participant):
    if request.method == "POST":
        participation.mark_instructions_read(participant=participant)
        return _stage_redirect(participant)
    study = participant.study
    return render(
        request,
        "studies/instructions.html",
        {
            "participant": participant,
            "study": study,
            "scales": study.scales.all(),
            "example_scale": study.scales.first(),
        },
    )


@participant_page(Stage.DEMOGRAPHICS)
def demographics(request, participant: Participant):
    questions = list(participant.study.demographic_questions.all())
    form = DemographicsForm(request.POST or None, questions=questions)
    if request.method == "POST" and form.is_valid():
        participation.save_demographics(participant=participant, answers=form.answers())
        return _stage_redirect(participant)
    return render(
        request,
        "studies/demographics.html",
        {"participant": participant, "study": participant.study, "form": form},
    )


@participant_page(Stage.ITEMS)
def item(request, participant: Participant):
    study = participant.study
    if not participant.sequence_length:
        participation.start_items(participant=participant)
    scales = list(study.scales.all())
    form = None
    if request.method == "POST":
        form = RatingForm(request.POST, scales=scales, comment_enabled=study.comment_enabled)
        if form.is_valid():
            return _submit(request, participant, form)
    assignment = participation.serve_next_item(participant=participant)
    if assignment is None:  # everything rated: the stage has changed
        return _stage_redirect(participant)
    if form is None:
        form = RatingForm(
            initial={"position": assignment.position}, scales=scales, comment_enabled=study.comment_enabled
        )
    elif form.data.get("position") != str(assignment.position):  # an incomplete form from an old page
        return _stage_redirect(participant)
    return render(request, "studies/item.html", _item_context(participant, assignment, form))


def _submit(request, participant: Participant, form: RatingForm):
    position = form.cleaned_data["position"]
    try:
        outcome = participation.submit_item(
            participant=participant,
            position=position,
            values=form.values(),
            comment=form.cleaned_data.get("comment", ""),
            scales=form.scales,
        )
    except participation.NotHandedOut:
        return _message(
            request,
            "That page is out of date",
            "Those answers were for a page you have not been given. Your saved answers are unchanged.",
            409,
            participant.study,
            continue_url=reverse("studies:participant", args=[participant.token]),
        )
    if outcome == participation.SubmitOutcome.KEPT_EARLIER:
        messages.info(
            request,
            f"Your answers to item {position} had already been saved, so they were kept as they were. "
            "Please go on with this item.",
        )
    return _stage_redirect(participant)


def _item_context(participant: Participant, assignment, form: RatingForm) -> dict:
    explanation, check = assignment.explanation, assignment.attention_check
    question = (explanation or check).question
    answer_label = explanation.answer_label if explanation else question.answer_key
    return {
        "participant": participant,
        "study": participant.study,
        "form": form,
        "position": assignment.position,
        "total": participant.sequence_length,
        "question": question,
        "choices": list(zip(OPTION_LABELS, question.choices, strict=True)),
        "answer_label": answer_label,
        "answer_text": question.choices[OPTION_LABELS.index(answer_label)],
        "explanation_text": explanation.text if explanation else check.instruction,
        "correct": explanation.correct if explanation else None,
    }


def _end_page(request, participant: Participant, template: str, code: str):
    study = participant.study
    return render(
        request,
        template,
        {"participant": participant, "study": study, "code": code, "redirect_url": study.code_url(code)},
    )


@participant_page(Stage.COMPLETED)
def done(request, participant: Participant):
    return _end_page(request, participant, "studies/done.html", participant.study.completion_code)


@participant_page(Stage.SCREENED_OUT)
def screened_out(request, participant: Participant):
    return _end_page(request, participant, "studies/screened_out.html", participant.study.screen_out_code)


def study_entry_url(request, study: Study) -> str:
    """The link to give Prolific: its placeholders are filled in for each participant."""
    base = request.build_absolute_uri(reverse("studies:entry", args=[study.entry_token]))
    return base + "?PROLIFIC_PID={{%PROLIFIC_PID%}}&STUDY_ID={{%STUDY_ID%}}&SESSION_ID={{%SESSION_ID%}}"
