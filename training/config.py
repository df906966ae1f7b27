"""Training configuration as plain values, with the paper's defaults; the methods and data variants.

Every field can be overridden per run (the CLI adds one `--option` per field).
"""

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from .formats import DEFAULT_FORMATS, FORMATS
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


def _help(text: str) -> dict:
    return {"help": text}


@dataclass(frozen=True)
class TrainConfig:
    student: str = field(
        default="google/t5-v1_1-base",
        metadata=_help(
            "hub id or local folder (seq2seq or causal LM), smollm2 (the bundled SmolLM2-135M-Instruct), or a "
            "named random config such as random:t5-small or random:llama-tiny"
        ),
    )
    method: str = field(default="multitask", metadata=_help(f"one of {', '.join(METHODS)}"))
    data_variant: str = field(default="unrevised", metadata=_help(f"one of {', '.join(DATA_VARIANTS)}"))
    seed: int = field(
        default=0, metadata=_help("seeds initialisation, batches, dropout and counterfactual draws")
    )
    # Optimisation: AdamW, linear decay.
    learning_rate: float = 5e-5
    warmup_steps: int = 0
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    batch_size: int = field(default=48, metadata=_help("questions per optimizer step, over all devices"))
    gradient_accumulation_steps: int = 1
    max_steps: int = 5000
    max_length: int = field(default=300, metadata=_help("tokens kept of each input and each target"))
    label_max_length: int = field(default=0, metadata=_help("tokens kept of each target; 0: max_length"))
    # Loss weights: multitask α·predict + (1−α)·explain; counterfactual factual + counterfactual;
    # combined γ·[α·predict + (1−α)·explain] + (1−γ)·[β·factual + (1−β)·counterfactual].
    alpha: float = 0.5
    beta: float = 0.5
    gamma: float = 0.5
    counterfactuals_per_question: int = field(
        default=1, metadata=_help("wrong options per question in the counterfactual task")
    )
    # What the students are fed (see presets.py for the study's choices).
    formats: str = field(
        default=DEFAULT_FORMATS, metadata=_help(f"input and target formats, one of {', '.join(FORMATS)}")
    )
    factual_explanation: str = field(
        default="variant",
        metadata=_help(
            "factual target text: variant (the data variant's explanation) or gold_option (the teacher's "
            "explanation of the gold option)"
        ),
    )
    wrong_option: str = field(
        default="random",
        metadata=_help(
            "counterfactual option: random (drawn with the seed), first_wrong (in option order) or first "
            "(option (a) even when it is the gold one, as the study's counterfactual-only code)"
        ),
    )
    evaluated_checkpoint: str = field(
        default="best",
        metadata=_help("the checkpoint evaluated: best (held-out accuracy) or final (the last weights)"),
    )
    # Evaluation on the held-out questions, checkpoints (best and last are kept).
    eval_every: int = field(default=250, metadata=_help("steps between evaluations and checkpoints"))
    logging_every: int = 10
    eval_batch_size: int = 64
    max_new_tokens: int = field(default=300, metadata=_help("generation limit for outputs with explanations"))
    answer_max_new_tokens: int = field(default=32, metadata=_help("generation limit for answer-only outputs"))
    inference_mode: str = field(
        default="", metadata=_help(f"one of {', '.join(INFERENCE_MODES)}; empty: the method's default")
    )
    score_unmatched_answers: bool = field(
        default=False,
        metadata=_help(
            "when a generated answer names no option, answer the option whose target the student finds likeliest "
            "(off in the paper; tiny students that only echo training answers need it)"
        ),
    )
    no_repeat_ngram_size: int = field(
        default=0,
        metadata=_help("generation never repeats an n-gram of this many tokens (0: off, the paper's greedy)"),
    )
    # Decoder-only (causal LM) students: each task is its prompt followed by its completion.
    loss_on_prompt: bool = field(
        default=False,
        metadata=_help(
            "causal students: the loss covers prompt and completion tokens (the study's extension, "
            "DataCollatorForLanguageModeling), not the completion only"
        ),
    )
    chat_template: bool = field(
        default=False,
        metadata=_help("causal students: wrap each prompt in the tokenizer's chat template as a user turn"),
    )
    # LoRA (peft) for any student: rank 0 trains every weight; a LoRA checkpoint holds only the adapter.
    lora_rank: int = field(default=0, metadata=_help("LoRA rank; 0: full fine-tune"))
    lora_alpha: float = field(default=16.0, metadata=_help("LoRA scaling numerator (scale alpha / rank)"))
    lora_dropout: float = field(default=0.05, metadata=_help("dropout on the LoRA input"))
    lora_target_modules: str = field(
        default="",
        metadata=_help("comma-separated module names LoRA adapts, e.g. q_proj,v_proj; empty: peft's default"),
    )
    report_to: str = field(
        default="none",
        metadata=_help(
            "experiment tracking the Trainer logs to: none, or comma-separated mlflow, wandb, tensorboard "
            "(pip install '.[tracking]')"
        ),
    )
    # Divergence: a non-finite training or held-out loss always stops the run; so does a held-out loss above
    # `divergence_loss_ratio` × its best. Accuracy collapses when, with at least `collapse_min_questions` held
    # out and the best held-out accuracy at `collapse_min_accuracy` or more, an evaluation falls below
    # `collapse_ratio` × best (with fewer questions a drop says nothing).
    divergence_loss_ratio: float = field(
        default=3.0, metadata=_help("held-out loss above this × its best is divergence (0: off)")
    )
    collapse_min_questions: int = field(
        default=20, metadata=_help("held-out questions needed before an accuracy drop counts as collapse")
    )
    collapse_min_accuracy: float = 0.3
    collapse_ratio: float = 0.5
    # Hardware and data handling.
    bf16: bool | None = field(
        default=None, metadata=_help("bf16 autocast; default: on when a GPU supports it")
    )
    pack_segments: bool | None = field(
        default=None,
        metadata=_help("pack a question's task inputs into one row; default: when the student allows (T5)"),
    )
    dataloader_workers: int = 0
    missing_teacher: str = field(
        default="error",
        metadata=_help("error: refuse data with a missing teacher field; skip: leave those questions out"),
    )
    tokenizer_cache_dir: str = field(
        default="",
        metadata=_help(
            "cache of tokenizers built offline; default: the user cache dir ($DISTILL_CACHE_DIR, else $XDG_CACHE_HOME/distill-study)"
        ),
    )

    def __post_init__(self) -> None:
        problems = []
        if self.method not in METHODS:
            problems.append(f"method must be one of {METHODS}, got {self.method!r}")
        if self.data_variant not in DATA_VARIANTS:
            problems.append(f"data_variant must be one of {tuple(DATA_VARIANTS)}, got {self.data_variant!r}")
        if self.inference_mode and self.inference_mode not in INFERENCE_MODES:
            problems.append(
                f"inference_mode must be one of {tuple(INFERENCE_MODES)}, got {self.inference_mode!r}"
            )
        for name, allowed in (
            ("missing_teacher", MISSING_TEACHER_POLICIES),
            ("formats", tuple(FORMATS)),
            ("factual_explanation", FACTUAL_EXPLANATIONS),
            ("wrong_option", WRONG_OPTIONS),
            ("evaluated_checkpoint", EVALUATED_CHECKPOINTS),
        ):
            if getattr(self, name) not in allowed:
                problems.append(f"{name} must be one of {allowed}, got {getattr(self, name)!r}")
        for name in ("alpha", "beta", "gamma", "collapse_ratio", "collapse_min_accuracy"):
            if not 0 <= getattr(self, name) <= 1:
                problems.append(f"{name} must be between 0 and 1, got {getattr(self, name)}")
        if self.learning_rate <= 0:
            problems.append(f"learning_rate must be > 0, got {self.learning_rate}")
        for name in ("batch_size", "gradient_accumulation_steps", "max_steps", "eval_every", "logging_every"):
            if getattr(self, name) < 1:
                problems.append(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.batch_size % max(self.gradient_accumulation_steps, 1):
            problems.append(
                f"batch_size {self.batch_size} is not a multiple of "
                f"gradient_accumulation_steps {self.gradient_accumulation_steps}"
            )
        if self.lora_rank < 0:
            problems.append(f"lora_rank must be 0 (full fine-tune) or more, got {self.lora_rank}")
        if self.lora_alpha <= 0:
            problems.append(f"lora_alpha must be > 0, got {self.lora_alpha}")
        if not 0 <= self.lora_dropout < 1:
            problems.append(f"lora_dropout must be in [0, 1), got {self.lora_dropout}")
        if any(not name for name in self.lora_modules):
            problems.append(f"lora_target_modules has an empty name: {self.lora_target_modules!r}")
        unknown_trackers = sorted(set(self.trackers) - set(TRACKERS))
        if unknown_trackers or ("none" in self.trackers and len(self.trackers) > 1):
            problems.append(
                f"report_to must be none or comma-separated {', '.join(TRACKERS[1:])}, got {self.report_to!r}"
            )
        if self.no_repeat_ngram_size < 0:
            problems.append(f"no_repeat_ngram_size must be >= 0, got {self.no_repeat_ngram_size}")
        if self.divergence_loss_ratio and self.divergence_loss_ratio <= 1:
            problems.append(f"divergence_loss_ratio must be 0 (off) or > 1, got {self.divergence_loss_ratio}")
        if self.collapse_min_questions < 1:
            problems.append(f"collapse_min_questions must be >= 1, got {self.collapse_min_questions}")
        if self.max_length < 8:
            problems.append(f"max_length must be >= 8, got {self.max_length}")
        if self.label_max_length and self.label_max_length < 8:
            problems.append(f"label_max_length must be 0 (max_length) or >= 8, got {self.label_max_length}")
        if "counterfactual" in self.tasks and not 1 <= self.counterfactuals_per_question <= 4:
            problems.append(
                f"counterfactuals_per_question must be 1–4 (wrong options), got {self.counterfactuals_per_question}"
            )
        if problems:
            raise ValueError("invalid training configuration: " + "; ".join(problems))

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
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(obj) - known)
        if unknown:
            raise ValueError(f"unknown training setting(s): {', '.join(unknown)}")
        return cls(**obj)
