"""The record every background job shares (a run, a study's analysis report) and the queries over it.

`Job` holds a job's status, times, heartbeat, progress, log tail, error and the number of the attempt allowed to
write; `JobAttempt` holds one execution of it. A concrete job model subclasses `Job`; its attempts model
subclasses `JobAttempt`, names its foreign key to the job in `JOB_FIELD` and uses `related_name="attempts"`.
`models_app.jobs` runs the lifecycle (claim, heartbeat, fenced writes, finish) on any such pair, and the queries
read like Django's own: `Run.objects.claimable()`, `AnalysisReport.objects.filter(study=s).reap_stale()`.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import models, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

logger = logging.getLogger(__name__)


class JobStatus(models.TextChoices):
    CREATED = "created", "created (not launched)"
    QUEUED = "queued", "queued"
    RUNNING = "running", "running"
    SUCCEEDED = "succeeded", "succeeded"
    FAILED = "failed", "failed"
    CANCELLED = "cancelled", "cancelled"


class AttemptOutcome(models.TextChoices):
    RUNNING = "running", "running"
    SUCCEEDED = "succeeded", "succeeded"
    FAILED = "failed", "failed"
    CANCELLED = "cancelled", "cancelled"
    DIED = "died", "died (no heartbeat)"


ACTIVE_STATUSES = (JobStatus.QUEUED, JobStatus.RUNNING)


def heartbeat_timeout(timeout_seconds: float | None = None) -> float:
    return settings.RUN_HEARTBEAT_TIMEOUT if timeout_seconds is None else timeout_seconds


class JobQuerySet(models.QuerySet):
    def active(self) -> "JobQuerySet":
        return self.filter(status__in=ACTIVE_STATUSES)

    def queued(self, *, task_id: str | None = None) -> "JobQuerySet":
        """Jobs waiting to be claimed (by the task `task_id` only, when given)."""
        queued = self.filter(status=JobStatus.QUEUED)
        return queued.filter(task_id=task_id) if task_id else queued

    def claimable(self, *, task_id: str | None = None) -> "JobQuerySet":
        """Queued jobs whose previous attempt has ended: the next attempt may start."""
        live = self.model.attempt_model().objects.live().of_job(OuterRef("pk"))
        return self.queued(task_id=task_id).filter(~Exists(live))

    def stale(self, *, timeout_seconds: float | None = None) -> "JobQuerySet":
        """Jobs the reaper would fail: running on a heartbeat older than the timeout, or (for a model with a
        `QUEUED_TIMEOUT`) queued for longer than that. A read: pages show these as given up on."""
        now = timezone.now()
        stale = Q(
            status=JobStatus.RUNNING,
            heartbeat_at__lt=now - timedelta(seconds=heartbeat_timeout(timeout_seconds)),
        )
        if self.model.QUEUED_TIMEOUT is not None:
            stale |= Q(status=JobStatus.QUEUED, created_at__lt=now - self.model.QUEUED_TIMEOUT)
        return self.filter(stale)

    def cancel(self) -> int:
        """Cancel created, queued or running jobs: a running one stops at its next progress report or heartbeat."""
        return self.filter(status__in=(JobStatus.CREATED, *ACTIVE_STATUSES)).update(
            status=JobStatus.CANCELLED, finished_at=timezone.now()
        )

    def reap_stale(self, *, timeout_seconds: float | None = None) -> int:
        """Declare attempts whose heartbeat stopped dead and fail their jobs: their worker died. A job running
        with no live attempt (from before attempts were recorded) is failed on its own heartbeat, and a job
        queued past its model's `QUEUED_TIMEOUT` is failed as never started."""
        timeout_seconds = heartbeat_timeout(timeout_seconds)
        now = timezone.now()
        cutoff = now - timedelta(seconds=timeout_seconds)
        Attempt = self.model.attempt_model()
        link = Attempt.JOB_FIELD
        attempts = Attempt.objects.live().filter(
            heartbeat_at__lt=cutoff, **{f"{link}__in": self.values("pk")}
        )
        reaped = 0
        for attempt in attempts.select_related(link):
            job = getattr(attempt, link)
            reason = job.dead_text(
                attempt.heartbeat_at, timeout_seconds, who=f" ({attempt.host} pid {attempt.pid})"
            )
            # Its progress as the job's row last had it (written every step; the attempt's row every heartbeat).
            done = job.progress_done if job.attempt == attempt.number else 0
            with transaction.atomic():
                if (
                    Attempt.objects.live()
                    .filter(pk=attempt.pk, heartbeat_at__lt=cutoff)
                    .update(
                        outcome=AttemptOutcome.DIED,
                        finished_at=now,
                        error=reason,
                        progress_to=max(done, attempt.progress_to),
                    )
                ):
                    reaped += 1
                    type(job).objects.filter(
                        pk=job.pk, attempt=attempt.number, status=JobStatus.RUNNING
                    ).update(status=JobStatus.FAILED, error=reason, finished_at=now)
        # The rest have no live attempt: a job running from before attempts were recorded, or one never started.
        stale = self.stale(timeout_seconds=timeout_seconds).filter(
            ~Exists(Attempt.objects.live().of_job(OuterRef("pk")))
        )
        for job in stale:
            reaped += stale.filter(pk=job.pk).update(
                status=JobStatus.FAILED,
                error=job.stale_text(timeout_seconds=timeout_seconds),
                finished_at=now,
            )
        if reaped:
            logger.warning("declared %d stale %s(s) dead", reaped, self.model.NOUN)
        return reaped


class Job(models.Model):
    """What every background job records: its state, its progress, whether its worker is alive, its error."""

    Status = JobStatus
    ACTIVE_STATUSES = ACTIVE_STATUSES
    FINISHED_STATUSES = (Status.SUCCEEDED, Status.FAILED, Status.CANCELLED)

    NOUN = "job"  # how messages name one
    AGAIN = "Launch it again."  # what to do once it failed as stale
    QUEUED_TIMEOUT: timedelta | None = None  # a job queued longer is failed as never started (None: it waits)
    ERROR_TEXT_LIMIT = 20_000  # characters of error and traceback kept

    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED, db_index=True)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    log_tail = models.TextField(blank=True)
    task_id = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    attempt = models.PositiveIntegerField(
        default=0, editable=False, help_text="The number of the attempt allowed to write (0: none yet)."
    )

    objects = JobQuerySet.as_manager()

    class Meta:
        abstract = True

    @classmethod
    def attempt_model(cls) -> type["JobAttempt"]:
        return cls._meta.get_field("attempts").related_model

    @property
    def queue(self) -> str:
        return "default"

    def stale_text(self, *, timeout_seconds: float | None = None) -> str:
        """Why this job is given up on (see `JobQuerySet.stale`), or "" while it is not: pages read it to show a
        dead job as failed before beat has reaped it."""
        timeout_seconds = heartbeat_timeout(timeout_seconds)
        now = timezone.now()
        running, queued = self.status == JobStatus.RUNNING, self.status == JobStatus.QUEUED
        if running and self.heartbeat_at and self.heartbeat_at < now - timedelta(seconds=timeout_seconds):
            return self.dead_text(self.heartbeat_at, timeout_seconds, who="")
        if queued and self.QUEUED_TIMEOUT is not None and self.created_at < now - self.QUEUED_TIMEOUT:
            return self.not_started_text()
        return ""

    def dead_text(self, heartbeat_at, timeout_seconds: float, *, who: str) -> str:
        return (
            f"The worker{who} stopped sending heartbeats: the last one was at {heartbeat_at:%Y-%m-%d %H:%M:%S} "
            f"UTC, more than {timeout_seconds:g} s ago. It probably died (killed, out of memory, machine lost). "
            f"{self.AGAIN}"
        )

    def not_started_text(self) -> str:
        minutes = self.QUEUED_TIMEOUT // timedelta(minutes=1)
        return (
            f"No worker started it within {minutes} minutes: the workers were busy with other jobs, or none "
            f"serves the `{self.queue}` queue (start one: celery -A distill_site worker -Q {self.queue}). "
            f"{self.AGAIN}"
        )


class JobAttemptQuerySet(models.QuerySet):
    def live(self) -> "JobAttemptQuerySet":
        return self.filter(finished_at__isnull=True)

    def of_job(self, job_id) -> "JobAttemptQuerySet":
        return self.filter(**{self.model.JOB_FIELD: job_id})

    def current(self, attempt: "JobAttempt") -> "JobAttemptQuerySet":
        """`attempt`, while it is live and still the one its job lets write."""
        return self.live().filter(pk=attempt.pk, **{f"{self.model.JOB_FIELD}__attempt": attempt.number})


class JobAttempt(models.Model):
    """One execution of a job: its number, its worker, its times, how it ended, its error and its log.

    Abstract: a subclass adds the foreign key to its job (named in `JOB_FIELD`, `related_name="attempts"`). An
    attempt is live while `finished_at` is empty; at most one per job is (a partial unique constraint in each
    subclass), so at most one execution of a job runs at a time.
    """

    Outcome = AttemptOutcome
    JOB_FIELD = ""

    number = models.PositiveIntegerField()
    outcome = models.CharField(max_length=20, choices=Outcome.choices, default=Outcome.RUNNING)
    task_id = models.CharField(max_length=100, blank=True)
    host = models.CharField(max_length=255, blank=True, help_text="The worker's host name.")
    pid = models.PositiveIntegerField(null=True, blank=True, help_text="The worker process's id.")
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    progress_from = models.PositiveIntegerField(default=0, help_text="The job's progress when it started.")
    progress_to = models.PositiveIntegerField(default=0, help_text="The job's progress when it last wrote.")
    error = models.TextField(blank=True)
    log_tail = models.TextField(blank=True)

    objects = JobAttemptQuerySet.as_manager()

    class Meta:
        abstract = True
        ordering = ["number"]

    def __str__(self) -> str:
        return f"attempt {self.number} of {self.job_model().NOUN} {self.job_id} ({self.outcome})"

    @classmethod
    def job_model(cls) -> type[Job]:
        return cls._meta.get_field(cls.JOB_FIELD).related_model

    @property
    def job_id(self) -> int:
        return getattr(self, f"{self.JOB_FIELD}_id")

    @property
    def live(self) -> bool:
        return self.finished_at is None

    @property
    def wall_seconds(self) -> float | None:
        """From start to end; for an attempt that died, to its last heartbeat (not to when it was found dead)."""
        end = (
            self.heartbeat_at
            if self.outcome == AttemptOutcome.DIED
            else self.finished_at or self.heartbeat_at
        )
        return max((end - self.started_at).total_seconds(), 0.0) if end else None


def attempt_constraints(job_field: str, prefix: str) -> list:
    """The constraints every attempts table holds (for its `Meta`), named after the table (`prefix`)."""
    return [
        models.UniqueConstraint(fields=[job_field, "number"], name=f"{prefix}_number_unique"),
        models.UniqueConstraint(
            fields=[job_field], condition=Q(finished_at__isnull=True), name=f"{prefix}_one_live"
        ),
        models.CheckConstraint(
            condition=Q(outcome__in=AttemptOutcome.values), name=f"{prefix}_outcome_valid"
        ),
        models.CheckConstraint(
            condition=Q(finished_at__isnull=True, outcome=AttemptOutcome.RUNNING)
            | (Q(finished_at__isnull=False) & ~Q(outcome=AttemptOutcome.RUNNING)),
            name=f"{prefix}_live_iff_running",
        ),
    ]
