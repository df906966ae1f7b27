"""Training configuration as plain values, with the paper's defaults; the methods and data variants.

Every field can be overridden per run (the CLI adds one `--option` per field).
"""

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from .formats import DEFAULT_FORMATS, FORMATS
from .key_values import check_setting_names
from .user_cache import default_cache_dir

METHODS = ("standard", "multitask", "counterfactual", "multitask_counterfactual")
# Data variant -> the field of `TeacherExplanations` that holds its explanation.
DATA_VARIANTS = {"unrevised": "explanation", "revised": "revised_explanation"}
METHOD_TASKS = {
    "standard": ("predict",),
    "multitask": ("predict", "explain"),
    "counterfactual": ("factual", "counterfactual"),
    "multitask_counterfactual": ("predict", "explain", "factual", "counterfactual"),
}
# How a trained student is asked for an answer and an explanation.
INFERENCE_MODES = {
    "predict": ("predict",),  # answer only
    "predict_explain": ("predict", "explain"),  # answer from [predict], explanation from [explain]
    "factual": ("factual",),  # one output: explanation, then "So the answer is ..."
}
DEFAULT_INFERENCE_MODE = {
    "standard": "predict",
    "multitask": "predict_explain",
    "counterfactual": "factual",
    "multitask_counterfactual": "predict_explain",
}
MISSING_TEACHER_POLICIES = ("error", "skip")
# The text of the factual target: the data variant's explanation, or the teacher's explanation of the gold option.
FACTUAL_EXPLANATIONS = ("variant", "gold_option")
# The wrong option(s) of the counterfactual task: drawn with the seed, the first wrong ones in option order, or
# the first options whatever they are (the study's counterfactual-only code: option (a), even when it is gold).
WRONG_OPTIONS = ("random", "first_wrong", "first")
# The checkpoint a run's students are evaluated with: the best on the held-out questions, or the final weights.
EVALUATED_CHECKPOINTS = ("best", "final")
# Experiment trackers the Trainer can log to (`report_to`); each needs its package (the `tracking` extra).
TRACKERS = ("none", "mlflow", "wandb", "tensorboard")


def _setting(
    help: str,
    *,
    choices: tuple | None = None,
    minimum: float | None = None,
    maximum: float | None = None,
    above: float | None = None,
    below: float | None = None,
    off: object = None,
) -> dict:
    """A field's metadata: its help, and the values it allows, which `TrainConfig` checks (and the admin and the
    CLI show): `choices`, or a range (`minimum`/`maximum` inclusive, `above`/`below` exclusive), and `off`, one
    more value that switches the setting off."""
    allowed = {
        "choices": choices,
        "minimum": minimum,
        "maximum": maximum,
        "above": above,
        "below": below,
        "off": off,
    }
    return {"help": help} | {key: value for key, value in allowed.items() if value is not None}


def allowed_values(metadata: Mapping) -> str:
    """The values a field's metadata allows, in words, e.g. "at least 0 and at most 1"; "" when any."""
    if "choices" in metadata:
        text = f"one of {', '.join(map(str, metadata['choices']))}"
    else:
        bounds = (
            ("minimum", "at least"),
            ("above", "above"),
            ("maximum", "at most"),
            ("below", "below"),
        )
        text = " and ".join(f"{words} {metadata[key]:g}" for key, words in bounds if key in metadata)
    if text and "off" in metadata:
        off = metadata["off"]
        text = f"{'empty' if off == '' else off} (off) or {text}"
    return text


def setting_problem(name: str, value: object, metadata: Mapping) -> str | None:
    """What is wrong with `value` for the setting `name` by its field metadata (see `_setting`); None if nothing."""
    if "off" in metadata and value == metadata["off"]:
        return None
    if "choices" in metadata:
        ok = value in metadata["choices"]
    elif metadata.keys() & {"minimum", "maximum", "above", "below"}:
        if not isinstance(value, int | float) or isinstance(value, bool):
            return f"{name} must be a number, got {value!r}"
        ok = (
            metadata.get("minimum", value) <= value <= metadata.get("maximum", value)
            and ("above" not in metadata or value > metadata["above"])
            and ("below" not in metadata or value < metadata["below"])
        )
    else:
        return None
    return None if ok else f"{name} must be {allowed_values(metadata)}, got {value!r}"


class ConfigError(ValueError):
    """Invalid training settings, all named at once; `problems` pairs each message with the setting it concerns."""

    def __init__(self, problems: Sequence[tuple[str, str]]) -> None:
        self.problems = tuple(problems)
        super().__init__("invalid training configuration: " + "; ".join(text for _, text in self.problems))


@dataclass(frozen=True)
class TrainConfig:
    """One training run's settings. Each field's metadata holds its help and the values it allows (see `_setting`);
    `__post_init__` checks them, so a rule is written once, here, and the admin's table is built from it."""

    student: str = field(
        default="google/t5-v1_1-base",
        metadata=_setting(
            "hub id or local folder (seq2seq or causal LM), smollm2 (the bundled SmolLM2-135M-Instruct), or a "
            "named random config such as random:t5-small or random:llama-tiny"
        ),
    )
    method: str = field(default="multitask", metadata=_setting("the training method", choices=METHODS))
    data_variant: str = field(
        default="unrevised",
        metadata=_setting("which teacher explanations to learn", choices=tuple(DATA_VARIANTS)),
    )
    seed: int = field(
        default=0,
        metadata=_setting("seeds initialisation, batches, dropout and counterfactual draws", minimum=0),
    )
    # Optimisation: AdamW, linear decay.
    learning_rate: float = field(
        default=5e-5, metadata=_setting("AdamW learning rate, decayed linearly to 0", above=0)
    )
    warmup_steps: int = 0
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    batch_size: int = field(
        default=48, metadata=_setting("questions per optimizer step, over all devices", minimum=1)
    )
    gradient_accumulation_steps: int = field(
        default=1, metadata=_setting("micro-batches per optimizer step", minimum=1)
    )
    max_steps: int = field(default=5000, metadata=_setting("optimizer steps", minimum=1))
    max_length: int = field(
        default=300, metadata=_setting("tokens kept of each input and each target", minimum=8)
    )
    label_max_length: int = field(
        default=0, metadata=_setting("tokens kept of each target; 0: max_length", minimum=8, off=0)
    )
    # Loss weights: multitask α·predict + (1−α)·explain; counterfactual factual + counterfactual;
    # combined γ·[α·predict + (1−α)·explain] + (1−γ)·[β·factual + (1−β)·counterfactual].
    alpha: float = field(
        default=0.5,
        metadata=_setting("multitask: α·answer loss + (1−α)·explanation loss", minimum=0, maximum=1),
    )
    beta: float = field(
        default=0.5,
        metadata=_setting(
            "combined: β·factual loss + (1−β)·counterfactual loss (counterfactual alone: 1 + 1)",
            minimum=0,
            maximum=1,
        ),
    )
    gamma: float = field(
        default=0.5,
        metadata=_setting("combined: γ·multitask + (1−γ)·counterfactual", minimum=0, maximum=1),
    )
    counterfactuals_per_question: int = field(
        default=1,
        metadata=_setting("wrong options per question in the counterfactual task", minimum=1, maximum=4),
    )
    # What the students are fed (see presets.py for the study's choices).
    formats: str = field(
        default=DEFAULT_FORMATS,
        metadata=_setting(
            "student input and target formats: project, or paper (the study's strings)",
            choices=tuple(FORMATS),
        ),
    )
    factual_explanation: str = field(
        default="variant",
        metadata=_setting(
            "factual target text: variant (the data variant's explanation) or gold_option (the teacher's "
            "explanation of the gold option)",
            choices=FACTUAL_EXPLANATIONS,
        ),
    )
    wrong_option: str = field(
        default="random",
        metadata=_setting(
            "counterfactual option: random (drawn with the seed), first_wrong (in option order) or first "
            "(option (a) even when it is the gold one, as the study's counterfactual-only code)",
            choices=WRONG_OPTIONS,
        ),
    )
    evaluated_checkpoint: str = field(
        default="best",
        metadata=_setting(
            "the checkpoint evaluated: best (held-out accuracy) or final (the last weights)",
            choices=EVALUATED_CHECKPOINTS,
        ),
    )
    # Evaluation on the held-out questions, checkpoints (best and last are kept).
    eval_every: int = field(
        default=250,
        metadata=_setting("steps between evaluations and checkpoints on the held-out questions", minimum=1),
    )
    logging_every: int = field(default=10, metadata=_setting("steps between loss log lines", minimum=1))
    eval_batch_size: int = 64
    max_new_tokens: int = field(
        default=300, metadata=_setting("generation limit for outputs with explanations", minimum=1)
    )
    answer_max_new_tokens: int = field(
        default=32, metadata=_setting("generation limit for answer-only outputs")
    )
    inference_mode: str = field(
        default="",
        metadata=_setting(
            "how the student is asked at inference; empty: the method's default",
            choices=tuple(INFERENCE_MODES),
            off="",
        ),
    )
    score_unmatched_answers: bool = field(
        default=False,
        metadata=_setting(
            "when a generated answer names no option, answer the option whose target the student finds likeliest "
            "(off in the paper; tiny students that only echo training answers need it)"
        ),
    )
    no_repeat_ngram_size: int = field(
        default=0,
        metadata=_setting(
            "generation never repeats an n-gram of this many tokens (0: off, the paper's greedy)",
            minimum=0,
            maximum=20,
        ),
    )
    # Decoder-only (causal LM) students: each task is its prompt followed by its completion.
    loss_on_prompt: bool = field(
        default=False,
        metadata=_setting(
            "causal students: the loss covers prompt and completion tokens (the study's extension, "
            "DataCollatorForLanguageModeling), not the completion only"
        ),
    )
    chat_template: bool = field(
        default=False,
        metadata=_setting(
            "causal students: wrap each prompt in the tokenizer's chat template as a user turn"
        ),
    )
    # LoRA (peft) for any student: rank 0 trains every weight; a LoRA checkpoint holds only the adapter.
    lora_rank: int = field(
        default=0, metadata=_setting("LoRA rank; 0: full fine-tune", minimum=0, maximum=1024)
    )
    lora_alpha: float = field(
        default=16.0, metadata=_setting("LoRA scaling numerator (scale alpha / rank)", above=0)
    )
    lora_dropout: float = field(
        default=0.05, metadata=_setting("dropout on the LoRA input", minimum=0, below=1)
    )
    lora_target_modules: str = field(
        default="",
        metadata=_setting(
            "comma-separated module names LoRA adapts, e.g. q_proj,v_proj; empty: peft's default"
        ),
    )
    report_to: str = field(
        default="none",
        metadata=_setting(
            "experiment tracking the Trainer logs to: none, or comma-separated mlflow, wandb, tensorboard "
            "(pip install '.[tracking]')"
        ),
    )
    # Divergence: a non-finite training or held-out loss always stops the run; so does a held-out loss above
    # `divergence_loss_ratio` × its best. Accuracy collapses when, with at least `collapse_min_questions` held
    # out and the best held-out accuracy at `collapse_min_accuracy` or more, an evaluation falls below
    # `collapse_ratio` × best (with fewer questions a drop says nothing).
    divergence_loss_ratio: float = field(
        default=3.0,
        metadata=_setting("held-out loss above this × its best is divergence (0: off)", above=1, off=0),
    )
    collapse_min_questions: int = field(
        default=20,
        metadata=_setting("held-out questions needed before an accuracy drop counts as collapse", minimum=1),
    )
    collapse_min_accuracy: float = field(
        default=0.3,
        metadata=_setting("best held-out accuracy from which a drop can be a collapse", minimum=0, maximum=1),
    )
    collapse_ratio: float = field(
        default=0.5,
        metadata=_setting("an accuracy below this × its best is a collapse", minimum=0, maximum=1),
    )
    # Hardware and data handling.
    bf16: bool | None = field(
        default=None,
        metadata=_setting(
            "bf16 autocast; default: on when a GPU supports it; on a CPU (fast only with AVX512-BF16 or AMX) "
            "its checkpoints predict in bf16 too"
        ),
    )
    pack_segments: bool | None = field(
        default=None,
        metadata=_setting(
            "pack a question's task inputs into one row; default: when the student allows (T5)"
        ),
    )
    dataloader_workers: int = 0
    missing_teacher: str = field(
        default="error",
        metadata=_setting(
            "error: refuse data with a missing teacher field; skip: leave those questions out",
            choices=MISSING_TEACHER_POLICIES,
        ),
    )
    tokenizer_cache_dir: str = field(
        default="",
        metadata=_setting(
            "cache of tokenizers built offline; default: the user cache dir ($DISTILL_CACHE_DIR, else $XDG_CACHE_HOME/distill-study)"
        ),
    )

    def __post_init__(self) -> None:
        problems = [
            (spec.name, problem)
            for spec in fields(self)
            if (problem := setting_problem(spec.name, getattr(self, spec.name), spec.metadata))
        ]
        if not self.student.strip():
            problems.append(
                (
                    "student",
                    "Name a student: a hub id, a local path or a named tiny config (e.g. random:t5-tiny).",
                )
            )
        if self.batch_size % max(self.gradient_accumulation_steps, 1):
            problems.append(
                (
                    "batch_size",
                    f"batch_size {self.batch_size} is not a multiple of "
                    f"gradient_accumulation_steps {self.gradient_accumulation_steps}",
                )
            )
        if any(not name for name in self.lora_modules):
            problems.append(
                (
                    "lora_target_modules",
                    f"lora_target_modules has an empty name: {self.lora_target_modules!r}",
                )
            )
        unknown_trackers = sorted(set(self.trackers) - set(TRACKERS))
        if unknown_trackers or ("none" in self.trackers and len(self.trackers) > 1):
            problems.append(
                (
                    "report_to",
                    f"report_to must be none or comma-separated {', '.join(TRACKERS[1:])}, got {self.report_to!r}",
                )
            )
        if problems:
            raise ConfigError(problems)

    @property
    def tasks(self) -> tuple[str, ...]:
        return METHOD_TASKS.get(self.method, ())

    @property
    def active_tasks(self) -> tuple[str, ...]:
        """The method's tasks whose loss weight is not zero (the others are not computed at all)."""
        weights = self.task_weights()
        return tuple(task for task in self.tasks if weights[task] > 0)

    @property
    def required_teacher_outputs(self) -> tuple[str, ...]:
        """Teacher output kinds (`teacher_outputs.KINDS`) every train question needs: those its active tasks read."""
        tasks = self.active_tasks
        variant = "explain" in tasks or ("factual" in tasks and self.factual_explanation == "variant")
        options = "counterfactual" in tasks or (
            "factual" in tasks and self.factual_explanation == "gold_option"
        )
        return (self.explanation_field,) * variant + ("option_explanation",) * options

    @property
    def lora_modules(self) -> tuple[str, ...]:
        """The LoRA target modules; () lets peft choose for the architecture."""
        text = self.lora_target_modules.strip()
        return tuple(name.strip() for name in text.split(",")) if text else ()

    @property
    def trackers(self) -> tuple[str, ...]:
        return (
            tuple(name.strip() for name in self.report_to.split(",")) if self.report_to.strip() else ("none",)
        )

    @property
    def explanation_field(self) -> str:
        return DATA_VARIANTS[self.data_variant]

    @property
    def resolved_inference_mode(self) -> str:
        return self.inference_mode or DEFAULT_INFERENCE_MODE[self.method]

    @property
    def target_max_length(self) -> int:
        return self.label_max_length or self.max_length

    @property
    def cache_dir(self) -> Path:
        return Path(self.tokenizer_cache_dir) if self.tokenizer_cache_dir else default_cache_dir()

    def task_weights(self) -> dict[str, float]:
        """Loss weight of each task; each task's loss is its mean token cross-entropy over the batch.

        The study's: standard L_pred; multitask α·L_pred + (1−α)·L_expl; counterfactual L_factual + L_cf;
        combined γ·[α·L_pred + (1−α)·L_expl] + (1−γ)·[β·L_factual + (1−β)·L_cf]."""
        multitask = {"predict": self.alpha, "explain": 1 - self.alpha}
        if self.method == "standard":
            return {"predict": 1.0}
        if self.method == "multitask":
            return multitask
        if self.method == "counterfactual":
            return {"factual": 1.0, "counterfactual": 1.0}
        counterfactual = {"factual": self.beta, "counterfactual": 1 - self.beta}
        return {task: self.gamma * weight for task, weight in multitask.items()} | {
            task: (1 - self.gamma) * weight for task, weight in counterfactual.items()
        }

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def defaults(cls) -> dict:
        """Every setting at its default: what a run recorded before a setting existed had."""
        return {f.name: f.default for f in fields(cls)}

    @classmethod
    def from_json(cls, obj: dict) -> "TrainConfig":
        check_setting_names(cls, obj, what="training setting")
        return cls(**obj)
