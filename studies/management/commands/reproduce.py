"""`manage.py reproduce`: the paper's experiment on the attached Celery workers, and the study after it.

Students × methods × data variants × seeds with the paper's hyperparameters and, by default, the `paper` preset
(the study's exact formats, text sources, wrong option, label lengths, final weights; the first seed trains
10,000 steps), then inference on the dataset's test split and a study over the four conditions. With
`--datasets cqa strategyqa esnli` the chain runs for each dataset, each with its own study. Each run of the command
launches what can be launched now and says what it waits for; run it again (or pass --wait) to go on once the
workers are done.

Decoder-only students (e.g. `--students Qwen/Qwen3-0.6B`) train with the study extension's settings: 8 questions a
micro-batch, 4 micro-batches a step, 1,024 tokens, learning rate 5e-5, an evaluation every 250 steps (each an
option, `--causal-...`), and with the paper preset the extension's loss over prompt and completion.
"""

import time
from collections import Counter
from itertools import product
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from models_app.models import DataVariant, TrainingMethod
from studies.pipeline import HUB, Outcome, Plan, QueueRunner, advance
from training.datasets import DATASETS
from training.key_values import parse_key_values
from training.presets import (
    EXTENSION_CAUSAL_MICRO_BATCH,
    EXTENSION_CAUSAL_SETTINGS,
    PAPER_FIRST_SEED_STEPS,
    PRESETS,
    causal_student_settings,
)

from ._pipeline_options import add_data_and_teacher_options, pipeline_errors, teacher_from_options

PAPER_STUDENTS = ("google/t5-v1_1-base", "google/t5-v1_1-large")
PAPER_METHODS = (
    TrainingMethod.MULTITASK,
    TrainingMethod.COUNTERFACTUAL,
    TrainingMethod.MULTITASK_COUNTERFACTUAL,
)
PAPER_VARIANTS = (DataVariant.UNREVISED, DataVariant.REVISED)
PAPER_SEEDS = tuple(range(6))


class Command(BaseCommand):
    help = (
        "Launch the paper's grid (students × methods × data variants × seeds, the paper's hyperparameters) on the "
        "attached workers, then inference and a study over the four conditions; rerun it, or pass --wait, to go on."
    )

    def add_arguments(self, parser):
        add_data_and_teacher_options(parser, default_data=HUB, default_teacher="")
        parser.add_argument(
            "--datasets",
            nargs="+",
            choices=list(DATASETS),
            help="run the chain for each of these datasets, one after another, each with its own study: from the "
            "hub, or from --data's subfolder of the dataset's name (e.g. ../shared/data/strategyqa); a "
            "{dataset} in --teacher is replaced by the dataset's name (default: the one --data holds)",
        )
        parser.add_argument("--students", nargs="+", default=list(PAPER_STUDENTS))
        parser.add_argument(
            "--methods", nargs="+", default=list(PAPER_METHODS), choices=TrainingMethod.values
        )
        parser.add_argument("--variants", nargs="+", default=list(PAPER_VARIANTS), choices=DataVariant.values)
        parser.add_argument("--seeds", nargs="+", type=int, default=list(PAPER_SEEDS))
        parser.add_argument(
            "--set",
            action="append",
            default=[],
            metavar="NAME=VALUE",
            dest="overrides",
            help="override one of the paper's hyperparameters, e.g. --set max_steps=100",
        )
        parser.add_argument(
            "--preset",
            choices=PRESETS,
            default="paper",
            help="paper (default): the study's exact choices; project: the project's defaults (training/README.md)",
        )
        parser.add_argument(
            "--first-seed-steps",
            type=int,
            help=f"optimiser steps of the first seed's runs (the study's seed 0: {PAPER_FIRST_SEED_STEPS:,}; the "
            f"default with --preset paper, unless --set max_steps=... is given); the other seeds take max_steps",
        )
        causal = parser.add_argument_group(
            "decoder-only students", "settings of causal-LM students' runs (--set overrides them too)"
        )
        causal.add_argument(
            "--causal-micro-batch",
            type=int,
            default=EXTENSION_CAUSAL_MICRO_BATCH,
            help=f"questions per micro-batch (default {EXTENSION_CAUSAL_MICRO_BATCH}); a step is micro-batch × accumulation",
        )
        for name, value in EXTENSION_CAUSAL_SETTINGS.items():
            causal.add_argument(
                "--causal-" + name.replace("_", "-"),
                dest=f"causal_{name}",
                type=type(value),
                default=value,
                help=f"default {value:g}",
            )
        parser.add_argument(
            "--study-student",
            default="",
            help="whose explanations the study shows (default: the last student)",
        )
        parser.add_argument(
            "--study-seed", type=int, help="which seed's students the study shows (default: the first)"
        )
        parser.add_argument("--wait", action="store_true", help="follow the runs until the study is open")
        parser.add_argument("--poll", type=float, default=30.0, help="seconds between checks with --wait")

    def handle(self, *args, wait, poll, datasets, **options):
        if not options["teacher"]:
            raise CommandError(
                "say which teacher writes the explanations: --teacher openai:MODEL --base-url http://HOST:8000/v1 "
                "(vLLM, Ollama), --teacher recorded:FILE, or --teacher transformers:MODEL"
            )
        overrides = _overrides(options["overrides"])
        first_seed_steps = options["first_seed_steps"]
        if first_seed_steps is None and options["preset"] == "paper" and "max_steps" not in overrides:
            first_seed_steps = PAPER_FIRST_SEED_STEPS
        with pipeline_errors():
            plans = [
                Plan(
                    data=_data_of(options["data"], dataset),
                    teacher=teacher_from_options(
                        options | {"teacher": options["teacher"].replace("{dataset}", dataset or "")}
                    ),
                    students=tuple(dict.fromkeys(options["students"])),
                    cells=tuple(
                        product(dict.fromkeys(options["methods"]), dict.fromkeys(options["variants"]))
                    ),
                    seeds=tuple(dict.fromkeys(options["seeds"])),
                    hyperparameters=overrides,
                    causal_hyperparameters=causal_student_settings(
                        micro_batch=options["causal_micro_batch"],
                        **{name: options[f"causal_{name}"] for name in EXTENSION_CAUSAL_SETTINGS},
                    ),
                    preset=options["preset"],
                    first_seed_steps=first_seed_steps,
                    limit=options["limit"],
                    dataset=dataset,
                    study_title="Explanations of distilled students",
                    study_student=options["study_student"],
                    study_seed=options["study_seed"],
                )
                for dataset in dict.fromkeys(datasets or [None])
            ]
            several = len(plans) > 1
            outcomes = [_advance(plan, QueueRunner(), self.stdout.write, several) for plan in plans]
            while wait and not all(o.finished for o in outcomes) and any(o.waiting for o in outcomes):
                waiting = [run for outcome in outcomes for run in outcome.waiting]
                self.stdout.write(f"waiting for {_summary(waiting)}; next check in {poll:g} s")
                time.sleep(poll)
                # While following, a run that fails stops the command instead of being relaunched forever.
                outcomes = [
                    _advance(plan, QueueRunner(relaunch_failed=False), lambda line: None, several)
                    for plan in plans
                ]
        for plan, outcome in zip(plans, outcomes, strict=True):
            named = f"{plan.spec.title}: " if several else ""
            if outcome.finished:
                study = outcome.study
                self.stdout.write(
                    self.style.SUCCESS(
                        f"{named}Study #{study.pk} is open: entry link /s/{study.entry_token}/"
                    )
                    + f" (results: /studies/{study.pk}/results/, students: /runs/results/)"
                )
            else:
                self.stdout.write(
                    f"{named}Waiting for {_summary(outcome.waiting) or 'nothing'}. Run this command again once "
                    "they finish (or pass --wait) to go on."
                )


def _advance(plan: Plan, runner: QueueRunner, echo, header: bool) -> Outcome:
    if header:
        echo(f"== {plan.spec.title} ({plan.origin})")
    return advance(plan=plan, runner=runner, echo=echo)


def _data_of(data: str, dataset: str | None) -> str:
    """The source of `dataset` given --data: the hub's copy, or --data's subfolder of that name if it has one."""
    if dataset is None:
        return data
    if data == HUB or data.startswith(f"{HUB}:"):
        return f"{HUB}:{dataset}"
    folder = Path(data) / dataset
    return str(folder) if folder.is_dir() else data


def _overrides(pairs: list[str]) -> dict:
    try:
        return parse_key_values(pairs, "--set")
    except ValueError as exc:
        raise CommandError(str(exc)) from None


def _summary(runs) -> str:
    counts = Counter((run.kind, run.status) for run in runs)
    return ", ".join(f"{n} {kind} run(s) {status}" for (kind, status), n in sorted(counts.items()))
