"""Training a student: the Hugging Face Trainer with the method's loss, and the `train` function callers use.

Read top to bottom: the run result and progress records, the divergence rules, the Trainer subclass (a
`compute_loss` override, the length-grouped sampler, evaluation by generation and held-out loss), the callback
that reports progress and stops runs, the pieces `build_trainer` puts together, `summarise`, and `train`, which
reads as a short training script: check the data, find the checkpoint to resume from, build the trainer, train,
summarise. Seq2seq students train on padded (T5: packed) rows (`batching.py`, `losses.py`), causal LM students
on packed rows without padding (`causal.py`); either can be LoRA-adapted (`lora_rank`), when a checkpoint holds
only the adapter.
"""

import importlib.metadata
import importlib.util
import json
import logging
import math
import os
import platform
import resource
import shutil
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import accelerate
import tokenizers
import torch
import transformers
from transformers import PrinterCallback, Trainer, TrainerCallback, TrainingArguments, set_seed
from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR

from .batching import LengthGroupedSampler, SegmentCollator, StudentDataset, tokenize_training_data
from .causal import PackedCausalCollator, causal_loss, tokenize_causal_data
from .config import TrainConfig
from .cqa import DataError, Question
from .devices import cuda_bf16
from .examples import TrainingData, build_training_data, tokenizer_corpus
from .inference import CHECKPOINT_INFO, GenerationSettings, predict_questions, settings_from_info
from .losses import student_loss
from .students import (
    BASE_MODEL_FOLDER,
    RANDOM_PREFIX,
    Student,
    add_lora,
    is_causal,
    load_student,
    supports_packing,
)
from .teacher_outputs import TeacherExplanations

logger = logging.getLogger(__name__)
RUN_CONFIG = "run_config.json"  # the configuration of the run in an output folder; a resume must match it


@dataclass(frozen=True)
class Progress:
    step: int
    total_steps: int
    loss: float | None  # the last logged training loss
    elapsed_seconds: float
    eta_seconds: float | None


@dataclass
class TrainResult:
    output_dir: str
    # "completed", "stopped" (asked to stop; call again to resume), "diverged", or "superseded" (`may_write`
    # said no: another process owns the output folder now; nothing more was written or deleted)
    status: str
    global_step: int
    max_steps: int
    resumed_from_step: int
    best_checkpoint: str | None
    last_checkpoint: str | None
    best_step: int | None  # the steps of those checkpoints
    last_step: int | None
    best_eval_accuracy: float | None
    last_eval_accuracy: float | None
    history: list[dict]  # the Trainer's log: losses, learning rates, eval accuracies, by step
    steps_per_second: float
    examples_per_second: float
    wall_seconds: float
    peak_memory_bytes: int
    peak_memory_of: str  # "cuda allocator" or "process RSS"
    divergence_reason: str
    skipped_questions: dict[str, str]
    config: dict
    environment: dict  # library versions, device, world size, packing, bf16, optimizer

    def to_json(self) -> dict:
        return asdict(self)

    @property
    def evaluated_checkpoint(self) -> str | None:
        """The checkpoint the run's student is evaluated with: see `TrainConfig.evaluated_checkpoint`."""
        if self.config.get("evaluated_checkpoint") == "final":
            return self.last_checkpoint
        return self.best_checkpoint or self.last_checkpoint


def nonfinite_loss_reason(loss: float, step: int) -> str:
    return "" if math.isfinite(loss) else f"the training loss became {loss} at step {step}"


def eval_loss_divergence_reason(loss: float, best: float | None, step: int, config: TrainConfig) -> str:
    """The held-out loss is not finite, or above `divergence_loss_ratio` × its best so far."""
    if not math.isfinite(loss):
        return f"the held-out loss became {loss} at step {step}"
    ratio = config.divergence_loss_ratio
    if not ratio or best is None or loss <= ratio * best:
        return ""
    return (
        f"the held-out loss rose to {loss:.4f} at step {step} (best {best:.4f}; the limit is {ratio} × best)"
    )


def accuracy_collapse_reason(
    accuracy: float, best: float | None, step: int, config: TrainConfig, *, held_out: int
) -> str:
    """Accuracy collapsed: with at least `collapse_min_questions` held-out questions (fewer say nothing: 1 of 2
    to 0 of 2 is noise), the best held-out accuracy reached `collapse_min_accuracy`, and this evaluation fell
    below `collapse_ratio` × best."""
    if held_out < config.collapse_min_questions:
        return ""
    if best is None or best < config.collapse_min_accuracy or accuracy >= config.collapse_ratio * best:
        return ""
    return (
        f"held-out accuracy collapsed to {accuracy:.3f} at step {step} "
        f"(best {best:.3f}; the limit is {config.collapse_ratio} × best)"
    )


class DistillationTrainer(Trainer):
    """The Trainer with the method's loss, two-length batch grouping, held-out accuracy by greedy generation and
    held-out loss, and checkpoints written only while `may_write()` says so, labelled for inference, and cleaned
    up among its own.

    Clean-up keeps the latest and the best checkpoint (as `save_total_limit` 2 would) but deletes only
    checkpoints this trainer wrote: one it resumed from, or one another process wrote, is never removed.
    """

    loss_is_scaled_for_ga = False  # the loss is a per-micro-batch mean; the Trainer divides by accumulation

    def __init__(
        self,
        *args,
        inference_mode: str,
        generation: GenerationSettings,
        checkpoint_info: dict,
        keep_checkpoints: int,
        may_write: Callable[[], bool] | None = None,
        causal: bool,
        eval_loss_dataset: StudentDataset | None = None,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.inference_mode = inference_mode
        self.generation = generation
        self.checkpoint_info = checkpoint_info
        self.keep_checkpoints = keep_checkpoints
        self.may_write = may_write
        self.written: list[str] = []  # the checkpoints this trainer saved, oldest first
        self.write_refused = False
        self.causal = causal
        self.eval_loss_dataset = eval_loss_dataset

    def _allowed_to_write(self) -> bool:
        if self.may_write is None or self.may_write():
            return True
        self.write_refused = True
        self.control.should_training_stop = True
        return False

    def _save_checkpoint(self, model, trial):
        if not self._allowed_to_write():
            return
        super()._save_checkpoint(model, trial)  # `save_total_limit` is off: the Trainer deletes nothing
        if not self.args.should_save:
            return
        folder = Path(self._get_output_dir(trial=trial)) / f"{PREFIX_CHECKPOINT_DIR}-{self.state.global_step}"
        (folder / CHECKPOINT_INFO).write_text(
            json.dumps(self.checkpoint_info | {"step": self.state.global_step}, indent=2)
        )
        self.written.append(str(folder))
        self._remove_own_old_checkpoints()

    def _remove_own_old_checkpoints(self) -> None:
        """Delete this trainer's older checkpoints, keeping its latest and (with a metric) the best one."""
        best = self.state.best_model_checkpoint
        keep = {self.written[-1], str(Path(best)) if best and self.keep_checkpoints > 1 else None}
        for path in [path for path in self.written if path not in keep]:
            if not self._allowed_to_write():
                return
            shutil.rmtree(path, ignore_errors=True)
            self.written.remove(path)

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        if self.causal:
            loss = causal_loss(model, inputs)
        else:
            core = self.accelerator.unwrap_model(model)
            core = core.get_base_model() if hasattr(core, "get_base_model") else core  # inside a LoRA wrapper
            loss = student_loss(model, inputs, core=core)
        return (loss, None) if return_outputs else loss

    def held_out_loss(self) -> float | None:
        """The training loss over the held-out questions' tasks, batch by batch (`eval_batch_size` questions)."""
        dataset = self.eval_loss_dataset
        if dataset is None or not len(dataset):
            return None
        size = self.args.per_device_eval_batch_size
        total = 0.0
        was_training = self.model.training
        self.model.eval()
        try:
            with torch.no_grad():
                for start in range(0, len(dataset), size):
                    items = [dataset[i] for i in range(start, min(start + size, len(dataset)))]
                    batch = self._prepare_inputs(self.data_collator(items))
                    total += float(self.compute_loss(self.model, batch)) * len(items)
        finally:
            self.model.train(was_training)
        return total / len(dataset)

    def _get_train_sampler(self, train_dataset=None):
        dataset = train_dataset if train_dataset is not None else self.train_dataset
        return LengthGroupedSampler(
            dataset.encoder_lengths,
            dataset.decoder_lengths,
            batch_size=self.args.per_device_train_batch_size,
            seed=self.args.seed,
        )

    def evaluate(self, eval_dataset=None, ignore_keys=None, metric_key_prefix="eval"):
        """Accuracy on the held-out questions (a list of `Question`), answers generated greedily, and the loss
        on their tasks."""
        questions = eval_dataset if eval_dataset is not None else self.eval_dataset
        start = time.monotonic()
        with self.autocast_smart_context_manager():
            records = predict_questions(
                self.model,
                self.processing_class,
                questions,
                mode=self.inference_mode,
                settings=self.generation,
                answers_only=True,
            )
            loss = self.held_out_loss()
        metrics = {
            f"{metric_key_prefix}_accuracy": sum(r.correct for r in records) / len(records),
            f"{metric_key_prefix}_runtime": round(time.monotonic() - start, 3),
        }
        if loss is not None:
            metrics[f"{metric_key_prefix}_loss"] = loss
        self.log(metrics)
        self.control = self.callback_handler.on_evaluate(self.args, self.state, self.control, metrics)
        return metrics


class RunMonitor(TrainerCallback):
    """Reports progress, stops on request or divergence, and labels each checkpoint for inference."""

    def __init__(
        self,
        config: TrainConfig,
        *,
        progress: Callable[[Progress], None] | None,
        should_stop: Callable[[], bool] | None,
        held_out: int = 0,
    ):
        self.config = config
        self.progress = progress
        self.should_stop = should_stop
        self.held_out = held_out  # held-out questions: judging accuracy needs enough of them
        self.best_eval_loss: float | None = None
        self.stopped = False
        self.divergence_reason = ""
        self.last_loss: float | None = None
        self.start_step = 0
        self.start_time = time.monotonic()

    def on_train_begin(self, args, state, control, **kwargs):
        self.start_step = state.global_step
        self.start_time = time.monotonic()
        # A resumed run's best held-out loss is in its history.
        finite = [e["eval_loss"] for e in state.log_history if math.isfinite(e.get("eval_loss", math.nan))]
        self.best_eval_loss = min(finite) if finite else None

    def on_step_end(self, args, state, control, **kwargs):
        if control.should_save or control.should_evaluate:
            control.should_log = True  # see the loss before a checkpoint is written: a diverged one never is
        # Progress first: a caller that learns of a stop request while recording it stops at this very step.
        if self.progress is not None and state.is_world_process_zero:
            elapsed = time.monotonic() - self.start_time
            done = state.global_step - self.start_step
            eta = elapsed / done * (state.max_steps - state.global_step) if done else None
            self.progress(Progress(state.global_step, state.max_steps, self.last_loss, elapsed, eta))
        if self.should_stop is not None and self.should_stop():
            self.stopped = True
            control.should_save = control.should_log = control.should_training_stop = True

    def _diverged(self, control, reason: str) -> None:
        self.divergence_reason = reason
        control.should_training_stop = True
        control.should_save = control.should_evaluate = False

    def on_log(self, args, state, control, logs=None, **kwargs):
        loss = (logs or {}).get("loss")
        if loss is None:
            return
        self.last_loss = loss
        reason = nonfinite_loss_reason(loss, state.global_step)
        if reason:
            self._diverged(control, reason)

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        metrics = metrics or {}
        reason = ""
        loss = metrics.get("eval_loss")
        if loss is not None:
            reason = eval_loss_divergence_reason(loss, self.best_eval_loss, state.global_step, self.config)
            if math.isfinite(loss):
                self.best_eval_loss = loss if self.best_eval_loss is None else min(self.best_eval_loss, loss)
        accuracy = metrics.get("eval_accuracy")
        if not reason and accuracy is not None:
            reason = accuracy_collapse_reason(
                accuracy, state.best_metric, state.global_step, self.config, held_out=self.held_out
            )
        if reason:
            self._diverged(control, reason)


def library_versions() -> dict:
    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "tokenizers": tokenizers.__version__,
        "accelerate": accelerate.__version__,
        "peft": importlib.metadata.version("peft"),
    }


def record_run_config(output_dir: Path, config: TrainConfig) -> None:
    """Write the run's configuration, or check that a resumed run has the same one.

    A setting added since the run was recorded counts as recorded at its default. Under data-parallel training
    every process checks; only the first writes, atomically."""
    path = output_dir / RUN_CONFIG
    current = config.to_json()
    if path.is_file():
        recorded = TrainConfig.defaults() | json.loads(path.read_text())
        changed = sorted(k for k in set(recorded) | set(current) if recorded.get(k) != current.get(k))
        if changed:
            raise ValueError(
                f"{output_dir} holds a run with other settings ({', '.join(changed)}): resume it with the same "
                "settings, or train into a new folder"
            )
        return
    if int(os.environ.get("RANK", "0")) == 0:
        output_dir.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial")
        partial.write_text(json.dumps(current, indent=2))
        partial.replace(path)


def tracking_integrations(config: TrainConfig) -> list[str] | str:
    """What the Trainer reports to (`report_to`), each tracker's package checked first."""
    if config.trackers == ("none",):
        return "none"
    missing = [name for name in config.trackers if importlib.util.find_spec(name) is None]
    if missing:
        raise ValueError(
            f"report_to names {', '.join(missing)}, which is not installed: pip install '.[tracking]' "
            f"(or pip install {' '.join(missing)})"
        )
    return list(config.trackers)


def training_arguments(
    config: TrainConfig, output_dir: Path, *, evaluate: bool, bf16: bool
) -> TrainingArguments:
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    per_device, remainder = divmod(config.batch_size, config.gradient_accumulation_steps * world_size)
    if remainder or not per_device:
        raise ValueError(
            f"batch_size {config.batch_size} does not split into {config.gradient_accumulation_steps} accumulation "
            f"step(s) on {world_size} device(s)"
        )
    return TrainingArguments(
        output_dir=str(output_dir),
        max_steps=config.max_steps,
        per_device_train_batch_size=per_device,
        per_device_eval_batch_size=config.eval_batch_size,
        gradient_accumulation_steps=config.gradient_accumulation_steps,
        learning_rate=config.learning_rate,
        lr_scheduler_type="linear",
        warmup_steps=config.warmup_steps,
        weight_decay=config.weight_decay,
        max_grad_norm=config.max_grad_norm,
        seed=config.seed,
        bf16=bf16,
        use_cpu=bf16 and not torch.cuda.is_available(),  # bf16 autocast on the CPU: transformers asks for it
        logging_steps=config.logging_every,
        logging_nan_inf_filter=False,  # a non-finite loss must be seen, to stop the run
        eval_strategy="steps" if evaluate else "no",
        eval_steps=config.eval_every,
        save_strategy="steps",
        save_steps=config.eval_every,
        save_total_limit=None,  # clean-up is DistillationTrainer's: the best and the last, of its own only
        metric_for_best_model="accuracy" if evaluate else None,
        greater_is_better=True,
        report_to=tracking_integrations(config),
        disable_tqdm=True,
        remove_unused_columns=False,
        label_names=["labels"],
        dataloader_num_workers=config.dataloader_workers,
        dataloader_pin_memory=torch.cuda.is_available(),
    )


def last_complete_checkpoint(output_dir: Path) -> str | None:
    """The latest checkpoint written whole (the Trainer's state and `distillation.json` are written last); a
    folder left half-written by a kill is skipped."""
    if not output_dir.is_dir():
        return None
    steps = []
    for folder in output_dir.glob(f"{PREFIX_CHECKPOINT_DIR}-*"):
        step = folder.name.rsplit("-", 1)[1]
        if (
            step.isdigit()
            and (folder / "trainer_state.json").is_file()
            and (folder / CHECKPOINT_INFO).is_file()
        ):
            steps.append((int(step), folder))
    return str(max(steps)[1]) if steps else None


def held_out_data(questions: list[Question], teacher, config: TrainConfig) -> TrainingData | None:
    """The held-out questions' tasks, for the held-out loss (questions without teacher data are left out)."""
    if not questions:
        return None
    try:
        return build_training_data(questions, teacher, replace(config, missing_teacher="skip"))
    except DataError:
        return None


def prepare_student(
    config: TrainConfig, output_dir: Path, resume_from: str | None, corpus: list[str]
) -> Student:
    """The student to train: the last checkpoint's weights when resuming a full fine-tune; else the student
    itself, LoRA-adapted when `lora_rank` is set (a resumed LoRA run gets its adapter from the checkpoint). The
    base of a LoRA run on a named random student is saved beside the checkpoints, for inference."""
    base_copy = output_dir / BASE_MODEL_FOLDER
    if config.lora_rank and (base_copy / "config.json").is_file():
        student = load_student(str(base_copy))
    else:
        student = load_student(
            resume_from if resume_from and not config.lora_rank else config.student,
            corpus=corpus,
            cache_dir=config.cache_dir,
        )
    if not config.lora_rank:
        return student
    if (
        config.student.startswith(RANDOM_PREFIX)
        and not base_copy.is_dir()
        and int(os.environ.get("RANK", "0")) == 0
    ):
        partial = base_copy.with_name(f"{BASE_MODEL_FOLDER}.{os.getpid()}.partial")
        student.model.save_pretrained(partial)
        student.tokenizer.save_pretrained(partial)
        try:
            partial.rename(base_copy)
        except OSError:
            shutil.rmtree(partial, ignore_errors=True)
    student.model = add_lora(
        student.model,
        rank=config.lora_rank,
        alpha=config.lora_alpha,
        dropout=config.lora_dropout,
        target_modules=config.lora_modules,
    )
    return student


def peak_memory() -> tuple[int, str]:
    if torch.cuda.is_available():
        return torch.cuda.max_memory_allocated(), "cuda allocator"
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, "process RSS"


def row_layout(config: TrainConfig, student: Student) -> tuple[bool, bool]:
    """(causal, packed): a causal student always trains on packed rows; a seq2seq one packs each question's
    segments into one row where its positions allow (T5) or `pack_segments` says so."""
    if is_causal(student.model):
        if config.pack_segments is False:
            raise ValueError("causal students always train on packed rows: leave pack_segments unset")
        return True, True
    packed = supports_packing(student.model) if config.pack_segments is None else config.pack_segments
    if packed and not supports_packing(student.model):
        raise ValueError(
            f"pack_segments needs a T5-family student (relative positions), not {student.model.config.model_type}"
        )
    return False, packed


def tokenize(
    training_data: TrainingData, student: Student, config: TrainConfig, *, causal: bool
) -> StudentDataset:
    if causal:
        return tokenize_causal_data(
            training_data,
            student.tokenizer,
            max_length=config.max_length,
            label_max_length=config.target_max_length,
            chat_template=config.chat_template,
        )
    return tokenize_training_data(
        training_data,
        student.tokenizer,
        max_length=config.max_length,
        label_max_length=config.target_max_length,
    )


def data_collator(config: TrainConfig, student: Student, *, causal: bool, packed: bool):
    if causal:
        return PackedCausalCollator(task_weights=config.task_weights(), loss_on_prompt=config.loss_on_prompt)
    return SegmentCollator(
        pad_token_id=student.tokenizer.pad_token_id,
        decoder_start_token_id=student.model.config.decoder_start_token_id,
        task_weights=config.task_weights(),
        packed=packed,
    )


def run_info(config: TrainConfig) -> dict:
    """What each checkpoint records of its run (`CHECKPOINT_INFO`): inference reads its student and settings."""
    return {
        "student": config.student,
        "method": config.method,
        "data_variant": config.data_variant,
        "seed": config.seed,
        "inference_mode": config.resolved_inference_mode,
        "config": config.to_json(),
    }


def build_trainer(
    config: TrainConfig,
    *,
    data: TrainingData,
    train_questions: list[Question],
    eval_questions: list[Question],
    teacher: Mapping[str, TeacherExplanations],
    output_dir: Path,
    resume_from: str | None,
    monitor: RunMonitor,
    may_write: Callable[[], bool] | None,
) -> DistillationTrainer:
    """The student (from `resume_from` where that holds it), its tokenized tasks, and the Trainer that trains it
    with the method's loss, evaluating on `eval_questions` and reporting to `monitor`."""
    set_seed(config.seed)  # the initial weights of a random student
    corpus = tokenizer_corpus(train_questions, teacher, formats=config.formats)
    student = prepare_student(config, output_dir, resume_from, corpus)
    causal, packed = row_layout(config, student)
    eval_data = held_out_data(eval_questions, teacher, config)
    eval_loss_dataset = None if eval_data is None else tokenize(eval_data, student, config, causal=causal)
    bf16 = config.bf16 if config.bf16 is not None else cuda_bf16()
    info = run_info(config)
    trainer = DistillationTrainer(
        model=student.model,
        args=training_arguments(config, output_dir, evaluate=bool(eval_questions), bf16=bf16),
        train_dataset=tokenize(data, student, config, causal=causal),
        eval_dataset=eval_questions or None,
        data_collator=data_collator(config, student, causal=causal, packed=packed),
        processing_class=student.tokenizer,
        callbacks=[monitor],
        inference_mode=config.resolved_inference_mode,
        checkpoint_info=info,
        keep_checkpoints=2 if eval_questions else 1,  # with a best metric: the best and the last
        may_write=may_write,
        generation=settings_from_info(info),  # evaluated as inference will run it
        causal=causal,
        eval_loss_dataset=eval_loss_dataset,
    )
    trainer.remove_callback(PrinterCallback)  # losses reach the caller through `progress` and the history
    return trainer


def summarise(
    trainer: DistillationTrainer,
    monitor: RunMonitor,
    config: TrainConfig,
    *,
    output_dir: Path,
    wall_seconds: float,
    skipped_questions: dict[str, str],
) -> TrainResult:
    """What a finished (or stopped) `trainer.train()` came to: status, checkpoints, history, speed, memory."""
    state, args = trainer.state, trainer.args
    last = last_complete_checkpoint(output_dir)
    steps = state.global_step - monitor.start_step
    evals = [entry["eval_accuracy"] for entry in state.log_history if "eval_accuracy" in entry]
    memory, memory_of = peak_memory()
    if trainer.write_refused:
        status = "superseded"
    elif monitor.divergence_reason:
        status = "diverged"
    else:
        status = "stopped" if monitor.stopped else "completed"
    return TrainResult(
        output_dir=str(output_dir),
        status=status,
        global_step=state.global_step,
        max_steps=state.max_steps,
        resumed_from_step=monitor.start_step,
        best_checkpoint=state.best_model_checkpoint,
        last_checkpoint=last,
        best_step=state.best_global_step or None,
        last_step=int(Path(last).name.rsplit("-", 1)[1]) if last else None,
        best_eval_accuracy=state.best_metric,
        last_eval_accuracy=evals[-1] if evals else None,
        history=list(state.log_history),
        steps_per_second=steps / wall_seconds if wall_seconds else 0.0,
        examples_per_second=steps * config.batch_size / wall_seconds if wall_seconds else 0.0,
        wall_seconds=wall_seconds,
        peak_memory_bytes=memory,
        peak_memory_of=memory_of,
        divergence_reason=monitor.divergence_reason,
        skipped_questions=skipped_questions,
        config=config.to_json(),
        environment=library_versions()
        | {
            "device": str(args.device),
            "world_size": args.world_size,
            "per_device_batch_size": args.per_device_train_batch_size,
            "packed": trainer.causal or trainer.data_collator.packed,  # causal students always pack
            "causal": trainer.causal,
            "lora": bool(config.lora_rank),
            "bf16": args.bf16,
            "optimizer": str(args.optim),
        },
    )


def train(
    config: TrainConfig,
    *,
    train_questions: list[Question],
    eval_questions: list[Question],
    teacher: Mapping[str, TeacherExplanations],
    output_dir: str | Path,
    progress: Callable[[Progress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    log: Callable[[str], None] | None = None,
    may_write: Callable[[], bool] | None = None,
) -> TrainResult:
    """Train a student, resuming from the last checkpoint in `output_dir` when there is one.

    `progress` is called after every optimizer step; `should_stop` too, after it: when it returns True, the run
    saves a checkpoint and returns with status "stopped", and a later call with the same arguments resumes it.
    `may_write` is asked before each checkpoint is saved or deleted: when it returns False (another process
    owns `output_dir` now), training stops at once, writes and deletes nothing more, and returns "superseded".
    Checkpoints are deleted only among those this call wrote.
    """
    log = log or logger.info
    output_dir = Path(output_dir)
    data = build_training_data(train_questions, teacher, config)  # bad data fails before anything is written
    if data.skipped:
        shown = "; ".join(f"{qid}: {why}" for qid, why in list(data.skipped.items())[:5])
        log(f"left out {len(data.skipped)} question(s) without the teacher data they need ({shown} ...)")
    record_run_config(output_dir, config)
    resume_from = last_complete_checkpoint(output_dir)
    if resume_from:
        log(f"resuming from {resume_from}")
    monitor = RunMonitor(config, progress=progress, should_stop=should_stop, held_out=len(eval_questions))
    trainer = build_trainer(
        config,
        data=data,
        train_questions=train_questions,
        eval_questions=eval_questions,
        teacher=teacher,
        output_dir=output_dir,
        resume_from=resume_from,
        monitor=monitor,
        may_write=may_write,
    )

    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    start = time.monotonic()
    trainer.train(resume_from_checkpoint=resume_from)
    wall_seconds = time.monotonic() - start

    return summarise(
        trainer,
        monitor,
        config,
        output_dir=output_dir,
        wall_seconds=wall_seconds,
        skipped_questions=data.skipped,
    )
