"""Studies, conditions, items, scales, participants, assignments and ratings.

A study compares conditions: each condition is a source of explanations (an inference run's predictions,
or an imported JSONL file), stored as `Explanation` rows so that what annotators saw is frozen. Items are
the questions sampled for the study (every condition explained them); an annotator's sequence is a list of
`Assignment` slots, each showing one condition's explanation of one item (or an attention check), and each
submitted slot holds one `Rating` per scale.

A study is one of two kinds. A *rating* study asks people how good explanations seem (Likert scales). A
*decision* study asks them to answer each question themselves, shows the condition's advice (nothing, the
model's answer, or its answer and explanation) and lets them answer again: each submitted slot then holds one
`Decision` instead of ratings.
"""

import secrets
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from models_app.job_models import Job, JobAttempt, attempt_constraints
from models_app.models import OPTION_LABELS, InferenceRun, Prediction, Question


def new_entry_token() -> str:
    return secrets.token_urlsafe(12)


def new_participant_token() -> str:
    return secrets.token_urlsafe(24)


def new_public_id() -> str:
    return "p" + secrets.token_hex(5)


def new_code() -> str:
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "".join(secrets.choice(alphabet) for _ in range(8))


class Study(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "draft"
        OPEN = "open", "open"
        CLOSED = "closed", "closed"

    class Kind(models.TextChoices):
        RATING = "rating", "rating: people rate explanations on scales"
        DECISION = "decision", "decision: people answer, see the model's advice, answer again"

    class Protocol(models.TextChoices):
        TWO_STEP = "two_step", "two steps: answer alone, then see the advice and answer again"
        ONE_STEP = "one_step", "one step: the advice is shown with the question"

    title = models.CharField(max_length=200)
    kind = models.CharField(
        max_length=10,
        choices=Kind.choices,
        default=Kind.RATING,
        help_text="Chosen when the study is designed; fixed once anyone has entered.",
    )
    notes = models.TextField(blank=True, help_text="For researchers only; annotators never see it.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    entry_token = models.CharField(
        max_length=32,
        unique=True,
        default=new_entry_token,
        editable=False,
        help_text="Public part of the entry link.",
    )

    consent_text = models.TextField()
    instructions = models.TextField()
    items_per_condition = models.PositiveSmallIntegerField(
        default=3, help_text="Items each participant rates in every condition."
    )
    item_count = models.PositiveIntegerField(
        default=40, help_text="How many questions to sample as items (each is shown in every condition)."
    )
    target_ratings_per_item = models.PositiveSmallIntegerField(
        default=5, help_text="Completed ratings wanted for each item in each condition."
    )
    item_seed = models.IntegerField(
        null=True, blank=True, help_text="Seed of the item sample, set when sampled."
    )
    items_sampled_at = models.DateTimeField(null=True, blank=True)
    reveal_correctness = models.BooleanField(
        default=False, help_text="Tell annotators whether the model's answer is correct."
    )
    comment_enabled = models.BooleanField(
        default=True, help_text="Offer an optional free-text comment per item."
    )
    # Decision studies only.
    protocol = models.CharField(
        max_length=10,
        choices=Protocol.choices,
        default=Protocol.TWO_STEP,
        help_text="Decision studies: whether people answer alone first (two steps) or see the advice at once.",
    )
    ask_confidence = models.BooleanField(
        default=True,
        help_text="Decision studies: ask for a confidence (1–5) with each answer (optional to give).",
    )
    reveal_answer = models.BooleanField(
        default=False, help_text="Decision studies: show the correct answer after each item."
    )
    wrong_advice_share = models.FloatField(
        default=0.3,
        help_text="Decision studies: share of each participant's items per condition on which the model is wrong "
        "(e.g. 0.3); times the items per condition it must be a whole number.",
    )
    attention_max_failures = models.PositiveSmallIntegerField(
        default=0, help_text="A participant who fails more attention checks than this is screened out."
    )
    abandon_after_minutes = models.PositiveIntegerField(
        default=60,
        help_text="An unfinished session idle this long counts as returned; its items are handed out again.",
    )
    allow_anonymous = models.BooleanField(
        default=False, help_text="Let people in without Prolific ids (lab studies)."
    )
    completion_code = models.CharField(max_length=40, default=new_code)
    screen_out_code = models.CharField(max_length=40, default=new_code)
    completion_url = models.URLField(
        blank=True,
        default="https://app.prolific.com/submissions/complete",
        help_text="Participants are sent here with ?cc= and their code at the end; empty: only show the code.",
    )

    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(default=timezone.now)
    opened_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "studies"
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(items_per_condition__gte=1), name="study_items_per_condition_positive"
            ),
            models.CheckConstraint(condition=Q(target_ratings_per_item__gte=1), name="study_target_positive"),
            models.CheckConstraint(
                condition=~Q(completion_code=F("screen_out_code")), name="study_codes_differ"
            ),
            models.CheckConstraint(
                condition=~Q(completion_code="") & ~Q(screen_out_code=""), name="study_codes_not_empty"
            ),
            models.CheckConstraint(condition=Q(kind__in=["rating", "decision"]), name="study_kind_valid"),
            models.CheckConstraint(
                condition=Q(protocol__in=["two_step", "one_step"]), name="study_protocol_valid"
            ),
            models.CheckConstraint(
                condition=Q(wrong_advice_share__gte=0, wrong_advice_share__lte=1),
                name="study_wrong_advice_share_0_1",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_frozen(self) -> bool:
        """Once anyone has entered, the design (conditions, items, scales, checks) no longer changes."""
        return self.participants.exists()

    def code_url(self, code: str) -> str:
        return f"{self.completion_url}?cc={code}" if self.completion_url else ""

    @property
    def is_decision(self) -> bool:
        return self.kind == self.Kind.DECISION

    @property
    def two_step(self) -> bool:
        return self.protocol == self.Protocol.TWO_STEP

    @property
    def wrong_advice_per_condition(self) -> int:
        """Items per condition and participant with wrong advice (the share times the items, rounded)."""
        return round(self.wrong_advice_share * self.items_per_condition)


class ConditionAdvice(models.TextChoices):
    NONE = "none", "none (control)"
    ANSWER = "answer", "the model's answer"
    ANSWER_EXPLANATION = "answer_explanation", "the model's answer and explanation"


class Condition(models.Model):
    """A source of explanations: an inference run's predictions, or an imported JSONL file.

    In a decision study the condition also says how much of it participants see as advice: nothing (control:
    its answers only decide which items count as wrong advice), the answer, or the answer and explanation.
    """

    Advice = ConditionAdvice

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="conditions")
    name = models.CharField(max_length=100, help_text="e.g. multitask/unrevised")
    advice = models.CharField(
        max_length=20,
        choices=Advice.choices,
        default=Advice.ANSWER_EXPLANATION,
        help_text="Decision studies: what participants are shown as advice. Rating studies show both.",
    )
    position = models.PositiveSmallIntegerField(default=0, help_text="Order in the Latin square.")
    inference_run = models.ForeignKey(
        InferenceRun, null=True, blank=True, on_delete=models.PROTECT, related_name="study_conditions"
    )
    source_file = models.CharField(
        max_length=500, blank=True, help_text="The JSONL file the explanations were imported from."
    )

    class Meta:
        ordering = ["position", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["study", "name"], name="condition_name_unique_per_study"),
            models.CheckConstraint(
                condition=Q(inference_run__isnull=False, source_file="")
                | (Q(inference_run__isnull=True) & ~Q(source_file="")),
                name="condition_has_exactly_one_source",
            ),
            models.CheckConstraint(
                condition=Q(advice__in=ConditionAdvice.values),
                name="condition_advice_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Explanation(models.Model):
    """What one condition says about one question: its answer and its explanation, as annotators see them."""

    condition = models.ForeignKey(Condition, on_delete=models.CASCADE, related_name="explanations")
    question = models.ForeignKey(Question, on_delete=models.PROTECT, related_name="+")
    prediction = models.ForeignKey(
        Prediction, null=True, blank=True, on_delete=models.PROTECT, related_name="study_explanations"
    )
    answer_label = models.CharField(max_length=1)
    correct = models.BooleanField()
    text = models.TextField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["condition", "question"], name="explanation_unique_per_condition"
            ),
            models.CheckConstraint(
                condition=Q(answer_label__in=OPTION_LABELS), name="explanation_answer_a_to_e"
            ),
            models.CheckConstraint(condition=~Q(text=""), name="explanation_text_not_empty"),
        ]

    def __str__(self) -> str:
        return f"{self.condition} on {self.question.external_id}"

    @property
    def answer_text(self) -> str:
        return self.question.choices[OPTION_LABELS.index(self.answer_label)]


class Item(models.Model):
    """A question sampled for a study; it is shown once in every condition."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="items")
    question = models.ForeignKey(Question, on_delete=models.PROTECT, related_name="+")
    sample_rank = models.PositiveIntegerField(help_text="Order in the seeded sample.")
    excluded = models.BooleanField(default=False, help_text="Never shown (e.g. an offensive question).")
    exclusion_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["sample_rank"]
        constraints = [
            models.UniqueConstraint(fields=["study", "question"], name="item_unique_per_study"),
            models.UniqueConstraint(fields=["study", "sample_rank"], name="item_rank_unique_per_study"),
        ]

    def __str__(self) -> str:
        return self.question.external_id


class Scale(models.Model):
    """One Likert item: a statement rated from min_value to max_value, each point with a worded anchor."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="scales")
    name = models.SlugField(max_length=50, help_text="Column value in the export, e.g. plausibility.")
    label = models.CharField(max_length=100, help_text="Short title shown above the statement.")
    statement = models.CharField(max_length=300)
    anchors = models.JSONField(help_text="One label per point, lowest first.")
    min_value = models.SmallIntegerField(default=1)
    max_value = models.SmallIntegerField(default=5)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["study", "name"], name="scale_name_unique_per_study"),
            models.CheckConstraint(condition=Q(max_value__gt=F("min_value")), name="scale_range_not_empty"),
            models.CheckConstraint(
                condition=Q(min_value__gte=0) & Q(max_value__lte=9), name="scale_points_are_single_digits"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def points(self) -> list[tuple[int, str]]:
        return list(zip(range(self.min_value, self.max_value + 1), self.anchors, strict=True))


class DemographicQuestion(models.Model):
    class Kind(models.TextChoices):
        CHOICE = "choice", "one of a list"
        NUMBER = "number", "whole number"
        TEXT = "text", "short text"

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="demographic_questions")
    key = models.SlugField(max_length=50, help_text="Column name in the participants export.")
    label = models.CharField(max_length=300)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.CHOICE)
    choices = models.JSONField(default=list, blank=True, help_text="For 'one of a list': the options.")
    required = models.BooleanField(default=False)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["study", "key"], name="demographic_key_unique_per_study"),
        ]

    def __str__(self) -> str:
        return self.key


class AttentionCheck(models.Model):
    """An instructed-response item: its text asks for one value on every scale."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="attention_checks")
    position = models.PositiveSmallIntegerField(help_text="Place in each participant's sequence, from 1.")
    question = models.ForeignKey(Question, on_delete=models.PROTECT, related_name="+")
    instruction = models.TextField(help_text="Shown where an explanation would be.")
    expected_value = models.SmallIntegerField(help_text="The value the instruction asks for on every scale.")

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["study", "position"], name="attention_check_position_unique"),
            models.CheckConstraint(condition=Q(position__gte=1), name="attention_check_position_positive"),
        ]

    def __str__(self) -> str:
        return f"attention check at position {self.position}"


class Participant(models.Model):
    class Status(models.TextChoices):
        IN_PROGRESS = "in_progress", "in progress"
        COMPLETED = "completed", "completed"
        SCREENED_OUT = "screened_out", "screened out"
        RETURNED = "returned", "returned (abandoned)"

    # Their assignments count when items are balanced; screened-out and returned sessions do not.
    COUNTED_STATUSES = (Status.IN_PROGRESS, Status.COMPLETED)

    class ScreenOut(models.TextChoices):
        DECLINED_CONSENT = "declined_consent", "declined consent"
        FAILED_ATTENTION = "failed_attention_checks", "failed attention checks"

    study = models.ForeignKey(Study, on_delete=models.PROTECT, related_name="participants")
    token = models.CharField(max_length=64, unique=True, default=new_participant_token, editable=False)
    public_id = models.CharField(max_length=20, default=new_public_id, editable=False)
    is_test = models.BooleanField(default=False, help_text="Simulated test response, not a person.")
    prolific_pid = models.CharField(max_length=64, blank=True)
    prolific_study_id = models.CharField(max_length=64, blank=True)
    prolific_session_id = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.IN_PROGRESS)
    screen_out_reason = models.CharField(max_length=30, choices=ScreenOut.choices, blank=True)
    demographics = models.JSONField(default=dict, blank=True)
    latin_square_row = models.PositiveSmallIntegerField(null=True, blank=True)
    sequence_length = models.PositiveSmallIntegerField(default=0)
    attention_failures = models.PositiveSmallIntegerField(default=0)
    user_agent = models.CharField(max_length=300, blank=True)

    entered_at = models.DateTimeField(default=timezone.now)
    consented_at = models.DateTimeField(null=True, blank=True)
    instructions_read_at = models.DateTimeField(null=True, blank=True)
    demographics_at = models.DateTimeField(null=True, blank=True)
    items_started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    screened_out_at = models.DateTimeField(null=True, blank=True)
    returned_at = models.DateTimeField(null=True, blank=True)
    last_seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["entered_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["study", "prolific_pid"],
                condition=~Q(prolific_pid=""),
                name="participant_pid_once_per_study",
            ),
            models.UniqueConstraint(fields=["study", "public_id"], name="participant_public_id_unique"),
            models.CheckConstraint(
                condition=Q(status__in=["in_progress", "completed", "screened_out", "returned"]),
                name="participant_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(status="screened_out") | Q(screen_out_reason=""),
                name="participant_screen_out_reason_only_when_screened_out",
            ),
        ]
        indexes = [models.Index(fields=["study", "status"])]

    def __str__(self) -> str:
        return self.public_id


class Assignment(models.Model):
    """One slot of a participant's sequence: an explanation (or attention check) handed to them at a position."""

    participant = models.ForeignKey(Participant, on_delete=models.CASCADE, related_name="assignments")
    position = models.PositiveSmallIntegerField(help_text="1-based place in the participant's sequence.")
    explanation = models.ForeignKey(
        Explanation, null=True, blank=True, on_delete=models.PROTECT, related_name="assignments"
    )
    attention_check = models.ForeignKey(
        AttentionCheck, null=True, blank=True, on_delete=models.PROTECT, related_name="assignments"
    )
    served_at = models.DateTimeField(null=True, blank=True, help_text="First shown to the participant.")
    submitted_at = models.DateTimeField(null=True, blank=True)
    seconds_on_item = models.FloatField(null=True, blank=True)
    comment = models.TextField(blank=True)
    attention_passed = models.BooleanField(null=True, blank=True)

    class Meta:
        ordering = ["participant", "position"]
        constraints = [
            models.UniqueConstraint(fields=["participant", "position"], name="assignment_slot_unique"),
            models.CheckConstraint(
                condition=Q(explanation__isnull=False, attention_check__isnull=True)
                | Q(explanation__isnull=True, attention_check__isnull=False),
                name="assignment_shows_one_thing",
            ),
            models.CheckConstraint(
                condition=Q(submitted_at__isnull=True) | Q(served_at__isnull=False),
                name="assignment_submitted_only_after_served",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.participant} #{self.position}"


class Rating(models.Model):
    """One value on one scale for one slot; the database refuses a second."""

    assignment = models.ForeignKey(Assignment, on_delete=models.CASCADE, related_name="ratings")
    scale = models.ForeignKey(Scale, on_delete=models.PROTECT, related_name="ratings")
    value = models.SmallIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["assignment", "scale"], name="rating_once_per_slot_and_scale"),
        ]

    def __str__(self) -> str:
        return f"{self.scale.name}={self.value}"


class Decision(models.Model):
    """A decision study's slot: the first answer (two-step protocol), the advice seen, the final answer.

    Times are the server's: `Assignment.served_at` starts the first step, `advice_served_at` the second (in the
    one-step protocol they coincide). `events` holds every click the pages reported, per step.
    """

    assignment = models.OneToOneField(
        Assignment, on_delete=models.CASCADE, primary_key=True, related_name="decision"
    )
    initial_answer = models.CharField(max_length=1, blank=True)
    initial_confidence = models.PositiveSmallIntegerField(null=True, blank=True)
    initial_at = models.DateTimeField(null=True, blank=True)
    advice_served_at = models.DateTimeField(null=True, blank=True)
    final_answer = models.CharField(max_length=1, blank=True)
    final_confidence = models.PositiveSmallIntegerField(null=True, blank=True)
    final_at = models.DateTimeField(null=True, blank=True)
    seconds_initial = models.FloatField(null=True, blank=True)
    seconds_final = models.FloatField(null=True, blank=True)
    events = models.JSONField(
        default=dict, blank=True, help_text='{"initial": [...], "final": [...]} clicks.'
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(initial_answer__in=["", *OPTION_LABELS])
                & Q(final_answer__in=["", *OPTION_LABELS]),
                name="decision_answers_a_to_e",
            ),
            models.CheckConstraint(
                condition=(
                    Q(initial_confidence__isnull=True)
                    | Q(initial_confidence__gte=1, initial_confidence__lte=5)
                )
                & (Q(final_confidence__isnull=True) | Q(final_confidence__gte=1, final_confidence__lte=5)),
                name="decision_confidence_1_to_5",
            ),
            models.CheckConstraint(
                condition=Q(initial_at__isnull=True) | ~Q(initial_answer=""), name="decision_initial_answered"
            ),
            models.CheckConstraint(
                condition=Q(final_at__isnull=True) | ~Q(final_answer=""), name="decision_final_answered"
            ),
        ]

    def __str__(self) -> str:
        return f"decision {self.assignment}"


class AnalysisReport(Job):
    """One computation of a study's analysis (`studies.analysis`): its options, its state and what it wrote.

    A background job (`Job`): computed as attempts (`AnalysisReportAttempt`) through `models_app.jobs`, like a
    run. The files live under ARTIFACTS_DIR/reports/study-<study>/report-<pk>/ and are served to staff only.
    `fingerprint` identifies the data it analysed (ratings, accuracies, design), so the results page can tell
    whether they have changed since.
    """

    NOUN = "analysis report"
    AGAIN = "Compute it again."
    # The analysis takes seconds to minutes; one still queued after this is given up on, so that a missing
    # worker does not block the study's next report.
    QUEUED_TIMEOUT = timedelta(minutes=60)
    ERROR_TEXT_LIMIT = 3_000  # what the results page shows: the error and the traceback's tail

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="analysis_reports")
    include_test_responses = models.BooleanField(default=False)
    include_statuses = models.JSONField(help_text='Participant statuses analysed, e.g. ["completed"].')
    reference = models.CharField(
        max_length=100, blank=True, help_text="Reference condition of the regressions; empty: the first."
    )
    alpha = models.FloatField(help_text="Significance level.")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    fingerprint = models.CharField(max_length=64, blank=True)
    ratings_read = models.PositiveIntegerField(default=0, help_text="Rating rows read, before exclusions.")
    ratings_analysed = models.PositiveIntegerField(default=0)
    participants_analysed = models.PositiveIntegerField(default=0)
    summary = models.JSONField(
        default=list, blank=True, help_text="[heading, result lines] per section, in reading order."
    )
    sections = models.JSONField(default=list, blank=True, help_text="The report's layout, in reading order.")
    notes = models.JSONField(default=list, blank=True, help_text="What the database could not give.")
    files = models.JSONField(default=list, blank=True, help_text="Paths of the files written, in the folder.")
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["queued", "running", "succeeded", "failed"]),
                name="analysis_report_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(progress_total=0) | Q(progress_done__lte=models.F("progress_total")),
                name="analysis_report_progress_within_total",
            ),
            models.CheckConstraint(condition=Q(alpha__gt=0, alpha__lt=1), name="analysis_report_alpha_0_1"),
            models.UniqueConstraint(
                fields=["study"],
                condition=Q(status__in=["queued", "running"]),
                name="analysis_report_one_active_per_study",
            ),
        ]

    def __str__(self) -> str:
        return f"analysis report {self.pk} of study {self.study_id} ({self.status})"

    @property
    def directory(self):
        return settings.ARTIFACTS_DIR / "reports" / f"study-{self.study_id}" / f"report-{self.pk}"

    @property
    def seconds_taken(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None


class AnalysisReportAttempt(JobAttempt):
    JOB_FIELD = "report"

    report = models.ForeignKey(AnalysisReport, on_delete=models.CASCADE, related_name="attempts")

    class Meta(JobAttempt.Meta):
        constraints = attempt_constraints("report", "analysis_report_attempt")
