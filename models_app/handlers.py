"""Job handlers, one per run kind: each calls the `training` library and stores what it yields.

A handler reads its inputs through `selectors`, stores through `records` (bulk and idempotent), and resumes by
handing the library what the store already holds, so a relaunched run continues where it stopped. Files (response
cache, checkpoints) go under `ARTIFACTS_DIR`. The library is imported inside the handlers: it brings torch, which
the web process does not need.
"""

from pathlib import Path

from django.conf import settings

from . import records, selectors
from .jobs import JobCancelled, JobContext, JobFailed, Superseded, register
from .models import Checkpoint, GenerationRun, InferenceRun, Question, Run, Teacher, TrainingRun

RUNS_FOLDER = "runs"
EVAL_SPLIT_SEED = 0


def run_folder(run: Run) -> Path:
    """ARTIFACTS_DIR/runs/<id>-<uid>: the id for people, the uid so that no other database's run shares it."""
    return Path(settings.ARTIFACTS_DIR) / RUNS_FOLDER / f"{run.pk}-{run.uid.hex}"


def teacher_spec(teacher: Teacher):
    """The library's description of a stored teacher; raises JobFailed naming what is wrong with it."""
    from training.teacher import Decoding, TeacherSpec

    try:
        Decoding.from_dict(teacher.decoding)
        return TeacherSpec(**{name: getattr(teacher, name) for name in Teacher.SPEC_FIELDS})
    except (TypeError, ValueError) as exc:
        raise JobFailed(
            f"teacher {teacher.name!r} is not usable: {exc}. Fix it in the admin (Teachers)."
        ) from exc


def generation_config(run: GenerationRun):
    """The run's method and seed, with any other GenerationConfig setting from its `config`."""
    from training.generation import GenerationConfig
    from training.key_values import check_setting_names

    try:
        check_setting_names(
            GenerationConfig, run.config, what="generation setting", exclude=("method", "seed")
        )
        return GenerationConfig(method=run.method, seed=run.seed, **run.config)
    except (TypeError, ValueError) as exc:
        raise JobFailed(f"the run's generation settings are invalid: {exc}") from exc


@register(Run.Kind.GENERATION)
def generate(run: GenerationRun, ctx: JobContext) -> None:
    from training.generation import Generation
    from training.response_cache import RESPONSE_CACHE_FOLDER, ResponseCache
    from training.teacher import TeacherError
    from training.teacher_factory import build_teacher

    questions = selectors.questions_for_split(dataset=run.dataset, split=run.split)
    config = generation_config(run)
    spec = teacher_spec(run.teacher)
    ctx.log(f"{run.method} with {run.teacher} ({spec.backend}: {spec.model}) on {len(questions)} questions")
    try:
        teacher = build_teacher(spec)
    except (TeacherError, ValueError, OSError) as exc:
        raise JobFailed(f"teacher {run.teacher.name!r} could not be started: {exc}") from exc
    try:
        cache = ResponseCache(Path(settings.ARTIFACTS_DIR) / RESPONSE_CACHE_FOLDER, teacher.describe())
        try:
            generation = Generation(
                questions,
                teacher,
                config,
                stored=selectors.stored_teacher_outputs(generation_run=run),
                cache=cache,
                progress=ctx.progress,
            )
        except ValueError as exc:  # the run holds outputs of another teacher or seed
            raise JobFailed(str(exc)) from exc
        try:
            for batch in generation:
                with ctx.fenced():  # a superseded attempt stores nothing more
                    records.store_teacher_outputs(generation_run=run, outputs=batch)
        except TeacherError as exc:
            raise JobFailed(f"the teacher failed: {exc}. Launch the run again to resume.") from exc
    finally:
        teacher.close()
    stats = generation.stats
    ctx.log(stats.summary())
    if stats.failures:
        raise JobFailed(
            f"{stats.failures} of {stats.items} outputs failed; launch the run again to retry them. "
            "First errors:\n" + "\n".join(stats.errors)
        )


def train_config(run: TrainingRun):
    """The library's training configuration of a run: its settings over the library's (the paper's) defaults."""
    from training.config import TrainConfig

    return TrainConfig(
        student=run.student,
        method=run.method,
        data_variant=run.data_variant,
        seed=run.seed,
        **run.hyperparameters,
    )


@register(Run.Kind.TRAINING)
def train_student(run: TrainingRun, ctx: JobContext) -> None:
    from training.cqa import train_eval_split
    from training.trainer import Progress, train

    config = train_config(run)
    questions = selectors.questions_for_split(dataset=run.dataset, split=Question.Split.TRAIN)
    train_questions, eval_questions = train_eval_split(questions, seed=EVAL_SPLIT_SEED)
    teacher = selectors.teacher_explanations(training_run=run)
    ctx.log(
        f"{config.method}/{config.data_variant} student {config.student}, seed {config.seed}: "
        f"{len(train_questions)} train and {len(eval_questions)} held-out questions, {config.max_steps} steps"
    )

    first_step = []

    def progress(state: Progress) -> None:
        if not first_step:
            first_step.append(state.step)
            if (
                state.step - 1 != ctx.progress_from
            ):  # resumed from a checkpoint older than the progress recorded
                ctx.resumed_from(state.step - 1)
        # Every step's progress is one fenced UPDATE: a cancel or a newer attempt is seen at the next step.
        ctx.update(state.step, state.total_steps, write_now=True)

    result = train(
        config,
        train_questions=train_questions,
        eval_questions=eval_questions,
        teacher=teacher,
        output_dir=run_folder(run),
        progress=progress,
        should_stop=lambda: ctx.cancelled,  # stop at a step boundary, with a checkpoint to resume from
        log=ctx.log,
        may_write=ctx.may_write,  # checkpoints are saved and deleted only by the run's current attempt
    )
    if result.status == "superseded":
        raise Superseded(f"attempt {ctx.number} of run {run.pk} was superseded at step {result.global_step}")
    # Totals over every attempt: the earlier ones' time and steps, and this one's.
    earlier = selectors.attempt_totals(run=run, before=ctx.number)
    wall = earlier.wall_seconds + result.wall_seconds
    steps = earlier.steps + result.global_step - result.resumed_from_step
    with ctx.fenced():
        TrainingRun.objects.filter(pk=run.pk).update(
            history=result.history,
            eval_accuracy=result.best_eval_accuracy,
            steps_per_second=steps / wall if wall else 0.0,
            wall_seconds=wall,
            peak_memory_bytes=result.peak_memory_bytes,
            divergence_reason=result.divergence_reason,
        )
        for role, path, step, accuracy in (
            (Checkpoint.Role.BEST, result.best_checkpoint, result.best_step, result.best_eval_accuracy),
            (Checkpoint.Role.LAST, result.last_checkpoint, result.last_step, result.last_eval_accuracy),
        ):
            if path:
                records.store_checkpoint(
                    training_run=run, role=role, step=step or 0, path=path, eval_accuracy=accuracy
                )
    ctx.log(
        f"{result.status} at step {result.global_step}/{result.max_steps}: best held-out accuracy "
        f"{result.best_eval_accuracy}, {result.steps_per_second:.2f} steps/s in this attempt; "
        f"{steps} steps in {wall:.1f} s over {len(earlier.attempts) + 1} attempt(s)"
    )
    if result.status == "stopped":
        raise JobCancelled(f"run {run.pk} was cancelled at step {result.global_step}")
    if result.status == "diverged":
        raise JobFailed(f"training diverged: {result.divergence_reason}")


@register(Run.Kind.INFERENCE)
def predict_split(run: InferenceRun, ctx: JobContext) -> None:
    from training.evaluation import evaluate
    from training.inference import checkpoint_info, inference_mode_of

    checkpoint = Checkpoint.objects.filter(training_run=run.training_run_id, role=run.checkpoint_role).first()
    if checkpoint is None or not Path(checkpoint.path).is_dir():
        where = checkpoint.path if checkpoint else "no such checkpoint is recorded"
        raise JobFailed(
            f"the {run.checkpoint_role} checkpoint of {run.training_run} is missing ({where}); "
            "train the run again or choose the other checkpoint"
        )
    questions = selectors.questions_for_split(dataset=run.dataset, split=run.split)
    mode = inference_mode_of(checkpoint_info(checkpoint.path))
    stored = selectors.stored_predictions(inference_run=run, mode=mode)
    probes = selectors.probe_explanations(inference_run=run)
    ctx.log(
        f"predicting {len(questions)} {run.split} questions with the {run.checkpoint_role} checkpoint "
        f"(step {checkpoint.step}, mode {mode}); {len(stored)} already stored; "
        f"{len(probes)} with teacher option explanations for the counterfactual probe"
    )

    def store(batch) -> None:
        with ctx.fenced():
            records.store_predictions(
                inference_run=run,
                predictions=(
                    {
                        "id": p.question_id,
                        "predicted_label": p.predicted_label,
                        "explanation": p.explanation,
                        "raw_output": p.raw_output,
                        "parse_rule": p.parse_rule,
                    }
                    for p in batch
                ),
            )
        ctx.check_cancelled()  # between chunks: what was predicted is stored

    evaluation = evaluate(
        checkpoint.path,
        questions,
        teacher=probes or None,
        mode=mode,
        stored=stored,
        on_predictions=store,
        progress=ctx.update,
    )
    with ctx.fenced():
        InferenceRun.objects.filter(pk=run.pk).update(metrics=evaluation.metrics)
    shown = {k: evaluation.metrics[k] for k in ("accuracy", "consistency", "counterfactual_flip_rate")}
    ctx.log(f"metrics: {shown}")
