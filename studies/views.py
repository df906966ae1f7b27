"""Annotator pages, under /s/: entry link, then one page per stage, reached by the participant's token.

Each stage view first asks `participation.stage` where the participant is and redirects there when the
request is for another stage: the server, not the browser, decides what comes next.
"""

from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache

from . import deciding, participation, prolific, ratelimit
from .deciding import Step
from .forms import CONFIDENCE_ANCHORS, ConsentForm, DecisionForm, DemographicsForm, RatingForm
from .models import Participant, Study
from .participation import Stage
from .question_display import question_view

STAGE_URLS = {
    Stage.CONSENT: "studies:consent",
    Stage.INSTRUCTIONS: "studies:instructions",
    Stage.DEMOGRAPHICS: "studies:demographics",
    Stage.ITEMS: "studies:current-item",
    Stage.COMPLETED: "studies:done",
    Stage.SCREENED_OUT: "studies:screened-out",
}


def _stage_redirect(participant: Participant):
    stage = participation.stage(participant)
    if stage == Stage.ITEMS:
        return _current_item_redirect(participant)
    return redirect(STAGE_URLS[stage], token=participant.token)


def _message(
    request, title: str, text: str, status: int, study: Study | None = None, continue_url: str = ""
) -> HttpResponse:
    context = {"title": title, "text": text, "study": study, "continue_url": continue_url}
    return render(request, "studies/message.html", context, status=status)


# A participant's pages answer only the browser that consented (or that came back with the Prolific id): the
# token in the URL is not enough, so a link that leaks neither submits nor reads anything.
SESSION_COOKIE_SALT = "studies.participant"
SESSION_COOKIE_AGE = 30 * 24 * 3600


def _session_cookie_name(study_id: int) -> str:
    return f"study{study_id}_session"


def _bind_to_browser(response: HttpResponse, participant: Participant) -> HttpResponse:
    response.set_signed_cookie(
        _session_cookie_name(participant.study_id),
        participant.token,
        salt=SESSION_COOKIE_SALT,
        max_age=SESSION_COOKIE_AGE,
        path="/s/",
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )
    return response


def _browser_token(request, study_id: int) -> str | None:
    return request.get_signed_cookie(_session_cookie_name(study_id), default=None, salt=SESSION_COOKIE_SALT)


@never_cache
def entry(request, entry_token: str):
    """The link participants follow, e.g. from Prolific with ?PROLIFIC_PID=…&STUDY_ID=…&SESSION_ID=…

    A GET shows the consent page and stores nothing (link previews and crawlers make no participants); the
    participant is created when they agree or decline (the POST). A Prolific id that already has a session, or a
    browser that already took part, resumes that session instead.
    """
    if request.method == "POST" and not ratelimit.allow(  # the request that makes a participant
        scope="study-entry", key=ratelimit.client_address(request), per_minute=settings.STUDY_ENTRY_RATE_LIMIT
    ):
        return _message(request, "Too many attempts", "Please wait a minute and open the link again.", 429)
    study = get_object_or_404(Study, entry_token=entry_token)
    ids = prolific.link_ids(request)
    if any(value and not prolific.ID_FORMAT.match(value) for value in ids.values()):
        return _message(
            request,
            "This link is incomplete",
            "The study link does not carry a valid Prolific ID. Please open the study again from Prolific.",
            400,
            study,
        )
    pid = ids["PROLIFIC_PID"]
    returning = participation.returning_participant(study=study, prolific_pid=pid)
    token = _browser_token(request, study.pk)
    if returning is None and not pid and token:  # this browser already took part without a Prolific id
        returning = Participant.objects.filter(study=study, token=token).first()
        if returning is not None:
            participation.resume(participant=returning)
    if returning is not None:
        return _bind_to_browser(_stage_redirect(returning), returning)
    try:
        participation.check_entry(study=study, prolific_pid=pid)
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
    decision = _consent_decision(request)
    if decision is None or decision == "no":
        return _consent_page(request, study, confirm_decline=decision == "no")
    try:
        participant = participation.enter_study(
            study=study,
            prolific_pid=pid,
            prolific_study_id=ids["STUDY_ID"],
            prolific_session_id=ids["SESSION_ID"],
            user_agent=request.META.get("HTTP_USER_AGENT", ""),
        )
    except participation.StudyNotOpen:  # closed between the check and now
        return _message(
            request, "This study is not open", "This study is not taking participants now.", 403, study
        )
    participation.record_consent(participant=participant, agreed=decision == "yes")
    return _bind_to_browser(_stage_redirect(participant), participant)


def _consent_decision(request) -> str | None:
    """ "yes", "no" (asks to confirm) or "leave" (confirmed) for a consent POST; None for a GET or a bad POST."""
    if request.method != "POST":
        return None
    form = ConsentForm(request.POST)
    return form.cleaned_data["consent"] if form.is_valid() else None


def _consent_page(request, study: Study, *, confirm_decline: bool, participant: Participant | None = None):
    context = {"study": study, "participant": participant, "confirm_decline": confirm_decline}
    return render(request, "studies/consent.html", context)


def _own_participant(request, token: str) -> Participant | HttpResponse:
    """The participant of this token, if this browser holds their session; otherwise a page saying why not."""
    participant = get_object_or_404(Participant.objects.select_related("study"), token=token)
    if _browser_token(request, participant.study_id) != participant.token:
        return _message(
            request,
            "This study session is open in another browser",
            "This page belongs to a session that was started in another browser, so it is not shown here. "
            "If you take part through Prolific, open the study again from Prolific to continue in this browser.",
            403,
            participant.study,
        )
    return participant


def participant_page(*page_stages: Stage):
    """Load the participant by token (404 if unknown, 403 in another browser); send them to their own stage
    if it is not one of this page's."""

    def decorator(view):
        @wraps(view)
        @never_cache
        def wrapper(request, token: str, **kwargs):
            participant = _own_participant(request, token)
            if isinstance(participant, HttpResponse):
                return participant
            participation.resume(participant=participant)
            if participation.stage(participant) not in page_stages:
                return _stage_redirect(participant)
            return view(request, participant, **kwargs)

        return wrapper

    return decorator


@never_cache
def participant_home(request, token: str):
    participant = _own_participant(request, token)
    if isinstance(participant, HttpResponse):
        return participant
    return _stage_redirect(participant)


@participant_page(Stage.CONSENT)
def consent(request, participant: Participant):
    """Consent of a participant created before consent was asked on the entry page."""
    decision = _consent_decision(request)
    if decision in ("yes", "leave"):
        participation.record_consent(participant=participant, agreed=decision == "yes")
        return _stage_redirect(participant)
    return _consent_page(
        request, participant.study, confirm_decline=decision == "no", participant=participant
    )


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


def _current_item_redirect(participant: Participant):
    """To the page of the item the participant is on: each served item has a URL of its own."""
    if not participant.sequence_length:
        participation.start_items(participant=participant)
    assignment = participation.serve_next_item(participant=participant)
    if assignment is None:  # everything rated: the stage has changed
        return redirect(STAGE_URLS[participation.stage(participant)], token=participant.token)
    return redirect("studies:item", token=participant.token, position=assignment.position)


@participant_page(Stage.ITEMS)
def current_item(request, participant: Participant):
    return _current_item_redirect(participant)


@participant_page(Stage.ITEMS)
def item(request, participant: Participant, position: int):
    """Item `position`: its form while it is the one handed out, read-only once rated.

    The URL names the item, so a submission is stored for the item whose page was answered whatever Back,
    Forward, reload or a second tab did; the page's form keeps no answers across pages (autocomplete off).
    """
    study = participant.study
    if study.is_decision:
        return _decision_page(request, participant, position, Step.INITIAL)
    scales = list(study.scales.all())
    form = None
    if request.method == "POST":
        form = RatingForm(request.POST, scales=scales, comment_enabled=study.comment_enabled)
        if form.is_valid():
            return _submit(request, participant, position, form)
    if not participant.sequence_length:
        participation.start_items(participant=participant)
    current = participation.serve_next_item(participant=participant)
    if current is None:
        return _stage_redirect(participant)
    if position != current.position:
        rated = participation.rated_item(participant=participant, position=position)
        if rated is None:  # not handed out yet (or no such item): the one to answer now
            return _current_item_redirect(participant)
        shown = RatingForm(
            {**{k: str(v) for k, v in rated.stored_values.items()}, "comment": rated.comment},
            scales=scales,
            comment_enabled=study.comment_enabled,
        )
        context = _item_context(participant, rated, shown) | {
            "rated": True,
            "current_position": current.position,
        }
        return render(request, "studies/item.html", context)
    if form is None:
        form = RatingForm(scales=scales, comment_enabled=study.comment_enabled)
    return render(request, "studies/item.html", _item_context(participant, current, form))


def _submit(request, participant: Participant, position: int, form: RatingForm):
    try:
        outcome = participation.submit_item(
            participant=participant,
            position=position,
            values=form.values(),
            comment=form.cleaned_data.get("comment", ""),
            scales=form.scales,
        )
    except participation.NotHandedOut:
        return _out_of_date(request, participant)
    if outcome == participation.SubmitOutcome.KEPT_EARLIER:
        messages.info(
            request,
            f"Your answers to item {position} had already been saved, so they were kept as they were. "
            "Please go on with this item.",
        )
    return _stage_redirect(participant)


def _out_of_date(request, participant: Participant) -> HttpResponse:
    return _message(
        request,
        "That page is out of date",
        "Those answers were for a page you have not been given. Your saved answers are unchanged.",
        409,
        participant.study,
        continue_url=reverse("studies:participant", args=[participant.token]),
    )


# --- decision studies: item/<n>/ asks the first answer, item/<n>/advice/ shows the advice and asks again ---


@participant_page(Stage.ITEMS, Stage.COMPLETED)
def item_advice(request, participant: Participant, position: int):
    """The advice step of item `position` (decision studies); once the item is answered, its summary.

    A completed participant may still see the summary of their items (the last one's correct answer).
    """
    if not participant.study.is_decision:
        return _stage_redirect(participant)
    return _decision_page(request, participant, position, Step.FINAL)


def _decision_page(request, participant: Participant, position: int, page: Step):
    """One step of a decision item: the form while it is the step the served item waits for, else read-only.

    Back after the advice shows the first answer as stored, with the way on to the advice; an answered item
    shows everything as stored. Nothing is stored on a GET but the time a step was first shown.
    """
    study = participant.study
    items_stage = participation.stage(participant) == Stage.ITEMS
    form = None
    if request.method == "POST" and items_stage:
        slot = (
            participant.assignments.select_related("explanation__question").filter(position=position).first()
        )
        if slot is None or slot.explanation is None:
            return _current_item_redirect(participant)
        form = _decision_form(study, slot, request.POST)
        if form.is_valid():
            return _submit_decision(request, participant, position, page, form)
    current = None
    if items_stage:
        if not participant.sequence_length:
            participation.start_items(participant=participant)
        current = participation.serve_next_item(participant=participant)
    if current is None or position != current.position:
        answered = deciding.answered_slot(participant=participant, position=position)
        if answered is None:
            return _current_item_redirect(participant) if items_stage else _stage_redirect(participant)
        assignment, decision = answered
        context = _decision_context(participant, assignment, decision, None, page) | {
            "review": True,
            "current_position": current.position if current else None,
        }
        return render(request, "studies/decision_item.html", context)
    decision = deciding.decision_of(current)
    wanted = deciding.next_step(current, decision)
    if page == Step.FINAL and (wanted == Step.INITIAL or not study.two_step):
        return redirect("studies:item", token=participant.token, position=position)
    if page == Step.INITIAL and study.two_step and wanted == Step.FINAL:
        # Back after the advice: the first answer as it was stored, and the way on.
        context = _decision_context(participant, current, decision, None, Step.INITIAL) | {
            "initial_done": True
        }
        return render(request, "studies/decision_item.html", context)
    step = Step.FINAL if wanted == Step.FINAL else Step.INITIAL
    if step == Step.FINAL:
        decision = deciding.serve_advice(participant=participant, assignment=current)
    if form is None:
        form = _decision_form(study, current)
    return render(
        request, "studies/decision_item.html", _decision_context(participant, current, decision, form, step)
    )


def _decision_form(study: Study, assignment, data=None) -> DecisionForm:
    return DecisionForm(data, labels=deciding.answer_labels(assignment), ask_confidence=study.ask_confidence)


def _submit_decision(request, participant: Participant, position: int, page: Step, form: DecisionForm):
    study = participant.study
    first = study.two_step and page == Step.INITIAL
    submit = deciding.submit_initial if first else deciding.submit_final
    try:
        outcome = submit(
            participant=participant,
            position=position,
            answer=form.cleaned_data["answer"],
            confidence=form.cleaned_data.get("confidence"),
            events=form.cleaned_data["events"],
        )
    except (participation.NotHandedOut, deciding.InvalidDecision):
        return _out_of_date(request, participant)
    if outcome == participation.SubmitOutcome.KEPT_EARLIER:
        messages.info(
            request,
            f"Your {'first ' if first else ''}answer to item {position} had already been saved, so it was kept "
            "as it was.",
        )
    if first or study.reveal_answer:  # on to the advice, or to the item's summary with the correct answer
        return redirect("studies:item-advice", token=participant.token, position=position)
    return _stage_redirect(participant)


def _decision_context(participant: Participant, assignment, decision, form, step: Step) -> dict:
    study = participant.study
    explanation = assignment.explanation
    question = explanation.question
    shown = question_view(
        question, question.answer_key
    )  # per dataset: choices, yes/no, premise and hypothesis
    choices = {label: (letter, text) for label, letter, text in shown["choices"]}
    advice = explanation.condition.advice
    submitted = assignment.submitted_at is not None

    def answer(label: str) -> str:
        letter, text = choices[label] if label else ("", "")
        return f"{letter}: {text}" if letter else text

    return {
        "participant": participant,
        "study": study,
        "form": form,
        "step": step,
        "position": assignment.position,
        "total": participant.sequence_length,
        **{key: shown[key] for key in ("display", "question_text", "blocks", "lead_in", "choices")},
        "show_advice": step == Step.FINAL or submitted,
        "advice": advice,
        "advice_answer": answer(explanation.answer_label) if advice != "none" else "",
        "advice_label": explanation.answer_label if advice != "none" else "",
        "explanation_text": explanation.text if advice == "answer_explanation" else "",
        "initial": answer(decision.initial_answer) if decision else "",
        "initial_label": decision.initial_answer if decision else "",
        "initial_confidence": decision.initial_confidence if decision else None,
        "final": answer(decision.final_answer) if decision and submitted else "",
        "final_label": decision.final_answer if decision and submitted else "",
        "final_confidence": decision.final_confidence if decision and submitted else None,
        "correct_answer": answer(question.answer_key) if submitted and study.reveal_answer else "",
        "correct_label": question.answer_key if submitted and study.reveal_answer else "",
        "confidence_points": list(enumerate(CONFIDENCE_ANCHORS, start=1)),
    }


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
        **question_view(question, answer_label),  # per dataset: choices, yes/no, premise and hypothesis
        "answer_label": answer_label,
        "explanation_text": explanation.text if explanation else check.instruction,
        "correct": explanation.correct if explanation else None,
        "is_check": check is not None,  # an attention check: no model's answer or explanation to show
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
