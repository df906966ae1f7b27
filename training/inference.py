"""Inference: batched greedy generation, answers mapped to options, explanations extracted.

`predict(checkpoint, questions)` loads a trained student (seq2seq or causal LM, whole or base plus a LoRA adapter)
and returns one `PredictionRecord` per question; a causal student's prompts are left-padded and its completions read
by the same rules as a seq2seq student's outputs;
`probe_counterfactuals` asks it the `[counterfactual]` task with a wrong option's teacher explanation.
"""

import json
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from transformers import AutoTokenizer, GenerationConfig

from .answers import AnswerMatch, match_option
from .causal import completion_losses, tokenize_prompts
from .config import DEFAULT_INFERENCE_MODE, INFERENCE_MODES
from .cqa import LABELS, Question
from .devices import cuda_bf16
from .examples import counterfactual_labels
from .formats import DEFAULT_FORMATS, read_output, task_input, task_target
from .students import Student, is_adapter_checkpoint, is_causal, load_adapter_checkpoint, load_model
from .teacher_outputs import TeacherExplanations

CHECKPOINT_INFO = "distillation.json"  # written into every checkpoint: method, data variant, settings
DEFAULT_MAX_LENGTH = 300


@dataclass(frozen=True)
class PredictionRecord:
    question_id: str
    predicted_label: str  # A–E, "" when no option matched
    predicted_text: str
    correct: bool
    explanation: str
    raw_output: str  # the output the answer was read from
    parse_rule: str  # which rule of answers.match_option matched
    mode: str  # inference mode, see config.INFERENCE_MODES

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, obj: dict) -> "PredictionRecord":
        return cls(**obj)

    @classmethod
    def of_answer(
        cls, question: Question, match: AnswerMatch, *, explanation: str, raw_output: str, mode: str
    ) -> "PredictionRecord":
        """The prediction of `question` whose answer text matched as `match`, judged against the gold answer."""
        return cls(
            question_id=question.id,
            predicted_label=match.label,
            predicted_text=question.choices[LABELS.index(match.label)] if match.label else "",
            correct=match.label == question.answer_key,
            explanation=explanation,
            raw_output=raw_output,
            parse_rule=match.rule,
            mode=mode,
        )


@dataclass(frozen=True)
class CounterfactualProbe:
    question_id: str
    option_label: str  # the wrong option whose teacher explanation was given
    predicted_label: str
    followed: bool  # the student answered that wrong option
    raw_output: str

    def to_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class GenerationSettings:
    batch_size: int = 64
    max_new_tokens: int = 300  # outputs with an explanation
    answer_max_new_tokens: int = 32  # answer-only outputs
    max_length: int = DEFAULT_MAX_LENGTH  # input tokens kept
    score_unmatched_answers: bool = False  # see TrainConfig.score_unmatched_answers
    formats: str = DEFAULT_FORMATS  # the input and target formats the student was trained on
    chat_template: bool = False  # causal students: prompts wrapped in the chat template
    no_repeat_ngram_size: int = 0  # generation never repeats an n-gram this long (0: off)


def generate_texts(
    model,
    tokenizer,
    texts: list[str],
    *,
    max_new_tokens: int,
    settings: GenerationSettings,
    progress: Callable[[int, int], None] | None = None,
) -> list[str]:
    """Greedy outputs for `texts`, in batches of similar input length (longest first), in the given order.

    A causal student gets each text as its prompt, left-padded, and its output is what follows the prompt."""
    if not texts:
        return []
    causal = is_causal(model)
    if causal:
        encoded = tokenize_prompts(
            tokenizer, texts, max_length=settings.max_length, chat_template=settings.chat_template
        )
        ends = {"eos_token_id": tokenizer.eos_token_id, "pad_token_id": tokenizer.pad_token_id}
    else:
        encoded = tokenizer(texts, truncation=True, max_length=settings.max_length)["input_ids"]
        ends = {
            "decoder_start_token_id": model.config.decoder_start_token_id,
            "eos_token_id": model.config.eos_token_id,
            "pad_token_id": model.config.pad_token_id,
        }
    order = sorted(range(len(texts)), key=lambda i: len(encoded[i]), reverse=True)
    generation = GenerationConfig(
        max_new_tokens=max_new_tokens,
        do_sample=False,
        num_beams=1,
        no_repeat_ngram_size=settings.no_repeat_ngram_size,
        **ends,
    )
    outputs: list[str] = [""] * len(texts)
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            for start in range(0, len(order), settings.batch_size):
                chunk = order[start : start + settings.batch_size]
                batch = tokenizer.pad(
                    {"input_ids": [encoded[i] for i in chunk]},
                    return_tensors="pt",
                    padding_side="left" if causal else "right",
                ).to(model.device)
                generated = model.generate(**batch, generation_config=generation)
                if causal:
                    generated = generated[:, batch["input_ids"].shape[1] :]
                for i, text in zip(
                    chunk, tokenizer.batch_decode(generated, skip_special_tokens=True), strict=True
                ):
                    outputs[i] = text.strip()
                if progress:
                    progress(min(start + settings.batch_size, len(order)), len(order))
    finally:
        model.train(was_training)
    return outputs


def predict_questions(
    model,
    tokenizer,
    questions: list[Question],
    *,
    mode: str,
    settings: GenerationSettings,
    answers_only: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> list[PredictionRecord]:
    """Answer (and explain, unless `answers_only`) each question with the tasks of `mode`."""
    if mode not in INFERENCE_MODES:
        raise ValueError(f"unknown inference mode {mode!r}; expected one of {tuple(INFERENCE_MODES)}")
    answer_task = INFERENCE_MODES[mode][0]
    explain = "explain" in INFERENCE_MODES[mode] and not answers_only
    total = len(questions) * (2 if explain else 1)

    def report(offset: int) -> Callable[[int, int], None] | None:
        return (lambda done, _: progress(offset + done, total)) if progress else None

    answer_outputs = generate_texts(
        model,
        tokenizer,
        [task_input(answer_task, q, formats=settings.formats) for q in questions],
        max_new_tokens=settings.answer_max_new_tokens
        if answer_task == "predict"
        else settings.max_new_tokens,
        settings=settings,
        progress=report(0),
    )
    explain_outputs = [""] * len(questions)
    if explain:
        explain_outputs = generate_texts(
            model,
            tokenizer,
            [task_input("explain", q, formats=settings.formats) for q in questions],
            max_new_tokens=settings.max_new_tokens,
            settings=settings,
            progress=report(len(questions)),
        )
    read = [
        read_output(answer_task, output, formats=settings.formats, dataset=question.dataset)
        for output, question in zip(answer_outputs, questions, strict=True)
    ]
    matches = [match_option(answer, question) for (answer, _), question in zip(read, questions, strict=True)]
    if settings.score_unmatched_answers:
        unmatched = [i for i, match in enumerate(matches) if not match.label]
        picks = score_targets(
            model,
            tokenizer,
            [task_input(answer_task, questions[i], formats=settings.formats) for i in unmatched],
            [
                [
                    task_target(
                        answer_task,
                        answer=choice,
                        explanation=read[i][1],
                        formats=settings.formats,
                        dataset=questions[i].dataset,
                    )
                    for choice in questions[i].choices
                ]
                for i in unmatched
            ],
            settings=settings,
        )
        for i, pick in zip(unmatched, picks, strict=True):
            matches[i] = AnswerMatch(LABELS[pick], "scored")
    records = []
    for question, output, explain_output, (_, explanation), match in zip(
        questions, answer_outputs, explain_outputs, read, matches, strict=True
    ):
        if explain_output:
            explanation = read_output(
                "explain", explain_output, formats=settings.formats, dataset=question.dataset
            )[1]
        records.append(
            PredictionRecord.of_answer(question, match, explanation=explanation, raw_output=output, mode=mode)
        )
    return records


def score_targets(
    model, tokenizer, inputs: list[str], candidates: list[list[str]], *, settings: GenerationSettings
) -> list[int]:
    """For each input, the index of the candidate target the student finds likeliest (lowest mean token loss)."""
    pairs = [(text, target) for text, targets in zip(inputs, candidates, strict=True) for target in targets]
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            if is_causal(model):
                losses = completion_losses(
                    model,
                    tokenizer,
                    [text for text, _ in pairs],
                    [target for _, target in pairs],
                    max_length=settings.max_length,
                    chat_template=settings.chat_template,
                    batch_size=settings.batch_size,
                )
            else:
                losses = _seq2seq_target_losses(model, tokenizer, pairs, settings=settings)
    finally:
        model.train(was_training)
    picks, offset = [], 0
    for targets in candidates:
        scores = losses[offset : offset + len(targets)]
        picks.append(min(range(len(targets)), key=scores.__getitem__))
        offset += len(targets)
    return picks


def _seq2seq_target_losses(
    model, tokenizer, pairs: list[tuple[str, str]], *, settings: GenerationSettings
) -> list[float]:
    losses: list[float] = []
    for start in range(0, len(pairs), settings.batch_size):
        chunk = pairs[start : start + settings.batch_size]
        batch = tokenizer(
            [text for text, _ in chunk],
            text_target=[target for _, target in chunk],
            truncation=True,
            max_length=settings.max_length,
            padding=True,
            return_tensors="pt",
        ).to(model.device)
        labels = batch.pop("labels")
        labels[labels == tokenizer.pad_token_id] = -100
        logits = model(**batch, labels=labels).logits
        token_loss = torch.nn.functional.cross_entropy(
            logits.float().transpose(1, 2), labels, ignore_index=-100, reduction="none"
        )
        losses += (token_loss.sum(1) / (labels != -100).sum(1).clamp(min=1)).tolist()
    return losses


def probe_counterfactuals(
    model,
    tokenizer,
    questions: list[Question],
    teacher: Mapping[str, TeacherExplanations],
    *,
    seed: int,
    settings: GenerationSettings,
) -> list[CounterfactualProbe]:
    """Give each question one wrong option's teacher explanation in the `[counterfactual]` task (the option is
    drawn with the seed, as in training) and record whether the student answers that option."""
    probes = []
    for question in questions:
        explanations = teacher.get(question.id)
        labels = counterfactual_labels(question, explanations, count=1, seed=seed) if explanations else []
        if labels:
            probes.append(
                (question, labels[0], explanations.option_explanations[LABELS.index(labels[0])].strip())
            )
    outputs = generate_texts(
        model,
        tokenizer,
        [task_input("counterfactual", q, text, formats=settings.formats) for q, _, text in probes],
        max_new_tokens=settings.answer_max_new_tokens,
        settings=settings,
    )
    results = []
    for (question, label, _), output in zip(probes, outputs, strict=True):
        predicted = match_option(
            read_output("counterfactual", output, formats=settings.formats, dataset=question.dataset)[0],
            question,
        ).label
        results.append(CounterfactualProbe(question.id, label, predicted, predicted == label, output))
    return results


def checkpoint_info(checkpoint_dir: str | Path) -> dict:
    path = Path(checkpoint_dir) / CHECKPOINT_INFO
    if not path.is_file():
        raise FileNotFoundError(f"{checkpoint_dir} is not a student checkpoint: {CHECKPOINT_INFO} is missing")
    return json.loads(path.read_text())


def load_checkpoint(checkpoint_dir: str | Path, *, device: str | None = None) -> tuple[Student, dict]:
    """A trained student and its `distillation.json`, in bf16 on a GPU that supports it, and on a CPU when the
    student was trained with `bf16` set (float32 otherwise).

    A LoRA checkpoint holds only the adapter: the base model is loaded and the adapter merged into it."""
    info = checkpoint_info(checkpoint_dir)
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    bf16 = cuda_bf16() if device.type == "cuda" else info.get("config", {}).get("bf16") is True
    dtype = torch.bfloat16 if bf16 else torch.float32
    if is_adapter_checkpoint(checkpoint_dir):
        model = load_adapter_checkpoint(checkpoint_dir, info["student"], dtype=dtype)
    else:
        model = load_model(checkpoint_dir, dtype=dtype)
    tokenizer = AutoTokenizer.from_pretrained(checkpoint_dir)
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    return Student(model.to(device).eval(), tokenizer, str(checkpoint_dir)), info


def settings_from_info(info: dict, **overrides) -> GenerationSettings:
    config = info.get("config", {})
    values = {
        "batch_size": config.get("eval_batch_size", GenerationSettings.batch_size),
        "max_new_tokens": config.get("max_new_tokens", GenerationSettings.max_new_tokens),
        "answer_max_new_tokens": config.get(
            "answer_max_new_tokens", GenerationSettings.answer_max_new_tokens
        ),
        "max_length": config.get("max_length", DEFAULT_MAX_LENGTH),
        "score_unmatched_answers": config.get("score_unmatched_answers", False),
        "formats": config.get("formats", DEFAULT_FORMATS),
        "chat_template": config.get("chat_template", False),
        "no_repeat_ngram_size": config.get("no_repeat_ngram_size", 0),
    }
    return GenerationSettings(**(values | {k: v for k, v in overrides.items() if v is not None}))


def inference_mode_of(info: dict, mode: str | None = None) -> str:
    return mode or info.get("inference_mode") or DEFAULT_INFERENCE_MODE[info["method"]]


def predict(
    checkpoint_dir: str | Path,
    questions: list[Question],
    *,
    mode: str | None = None,
    batch_size: int | None = None,
    max_new_tokens: int | None = None,
    device: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[PredictionRecord]:
    """Predictions of a trained student on `questions` (mode: the method's default unless given)."""
    student, info = load_checkpoint(checkpoint_dir, device=device)
    settings = settings_from_info(info, batch_size=batch_size, max_new_tokens=max_new_tokens)
    return predict_questions(
        student.model,
        student.tokenizer,
        questions,
        mode=inference_mode_of(info, mode),
        settings=settings,
        progress=progress,
    )
