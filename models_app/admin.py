from django.contrib import admin, messages
from django.utils.html import format_html

from . import services
from .models import Dataset, Question, Run, Teacher


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m {secs:02d}s"


class RunAdminMixin:
    """List columns, read-only job fields and actions shared by every kind of run."""

    run_list_display = ("__str__", "status", "progress_bar", "eta", "created_at", "finished_at")
    run_readonly_fields = (
        "kind",
        "status",
        "progress_bar",
        "eta",
        "task_id",
        "created_at",
        "started_at",
        "finished_at",
        "heartbeat_at",
        "error",
        "log_tail",
    )
    actions = ["cancel_selected", "relaunch_selected"]

    @admin.display(description="progress")
    def progress_bar(self, run: Run) -> str:
        if not run.progress_total:
            return format_html('<span class="run-progress-empty">{}</span>', "—")
        pct = 100 * run.progress_done / run.progress_total
        return format_html(
            '<progress value="{}" max="{}" title="{} / {}"></progress> {}%',
            run.progress_done,
            run.progress_total,
            run.progress_done,
            run.progress_total,
            f"{pct:.0f}",
        )

    @admin.display(description="ETA")
    def eta(self, run: Run) -> str:
        return _duration(run.eta_seconds)

    @admin.action(description="Cancel selected runs")
    def cancel_selected(self, request, queryset):
        cancelled = sum(services.cancel_run(run=run) for run in queryset)
        self.message_user(request, f"Cancelled {cancelled} run(s).", messages.SUCCESS)

    @admin.action(description="Launch again (resume) selected finished runs")
    def relaunch_selected(self, request, queryset):
        launched = 0
        for run in queryset:
            try:
                services.relaunch_run(run=run)
                launched += 1
            except ValueError as exc:
                self.message_user(request, str(exc), messages.WARNING)
        if launched:
            self.message_user(request, f"Launched {launched} run(s) again.", messages.SUCCESS)


@admin.register(Run)
class RunAdmin(RunAdminMixin, admin.ModelAdmin):
    list_display = ("__str__", "kind", "status", "progress_bar", "eta", "created_at", "finished_at")
    list_filter = ("kind", "status")
    search_fields = ("name", "task_id")
    readonly_fields = RunAdminMixin.run_readonly_fields + ("config",)
    fields = ("name",) + readonly_fields

    def has_add_permission(self, request) -> bool:
        return False  # runs are created as a generation, training or inference run


@admin.register(Dataset)
class DatasetAdmin(admin.ModelAdmin):
    list_display = ("name", "source", "created_at")
    search_fields = ("name",)


@admin.register(Question)
class QuestionAdmin(admin.ModelAdmin):
    list_display = ("external_id", "dataset", "split", "text", "answer_key")
    list_filter = ("dataset", "split")
    search_fields = ("external_id", "text")


@admin.register(Teacher)
class TeacherAdmin(admin.ModelAdmin):
    list_display = ("name", "backend", "model", "base_url")
    list_filter = ("backend",)
