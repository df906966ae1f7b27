"""`manage.py demo`: the whole pipeline on this machine, in the foreground, then the site.

Questions → teacher outputs (explanations, critiques, revisions, one per option) → four small students → their
predictions → an open study over their explanations. Every finished stage is reused on the next run.

The default students are the bundled SmolLM2-135M-Instruct (the teacher's own model) fine-tuned with LoRA, so
their explanations are readable English; a named random student (`--student random:t5-tiny`) trains whole, for
the tests.
"""

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from distill_site.background import run_beat_in_thread
from models_app.management.commands.ensure_admin import credentials_file
from studies.pipeline import DEMO_DATA, STUDY_CONDITIONS, ForegroundRunner, Plan, advance
from training.datasets import DATASETS
from training.devices import cpu_runs_bf16
from training.gguf_models import SMOLLM2
from training.students import RANDOM_PREFIX

from ._pipeline_options import add_data_and_teacher_options, pipeline_errors, teacher_from_options

DEMO_TEACHER = "transformers:smollm2"
DEMO_STUDENT = SMOLLM2
# Questions per split: the teacher on a 2-core CPU takes 2½ minutes for them.
DEMO_LIMIT = 16
# Short explanations keep inference quick; an answer that names no option is scored against the options, so that
# every explanation can be rated.
COMMON_HYPERPARAMETERS = {"batch_size": 8, "max_new_tokens": 64, "score_unmatched_answers": True}
# A pretrained student: LoRA (rank 8 on peft's default modules, for SmolLM2 the attention's query and value
# projections) learns the output formats in a few steps at 1e-3; generation never repeats a 3-token sequence, so
# no explanation loops ("the the the ...").
PRETRAINED_STEPS = 6
# With 2 held-out questions the best checkpoint is a coin toss: the students are evaluated with their final weights.
PRETRAINED_HYPERPARAMETERS = COMMON_HYPERPARAMETERS | {
    "learning_rate": 1e-3,
    "lora_rank": 8,
    "lora_alpha": 16.0,
    "no_repeat_ngram_size": 3,
    "evaluated_checkpoint": "final",
}


def pretrained_precision() -> dict:
    """bf16 for the pretrained students on a CPU that computes it natively: training and decoding about 1.5× as
    fast, with the same losses to about 1% (float32 elsewhere; a GPU picks bf16 by itself)."""
    return {"bf16": True} if cpu_runs_bf16() else {}


# A tiny randomly initialised T5 learns the output formats in a few hundred steps only at a high learning rate
# (the paper's 5e-5 is for pretrained students over 5,000 steps).
RANDOM_STEPS = 150
RANDOM_HYPERPARAMETERS = COMMON_HYPERPARAMETERS | {"learning_rate": 3e-3}
# On a CPU the teacher's time goes into reading its prompts; the critique and revision prompts differ per question
# (their worked examples are drawn at random), so the demo gives them 2 examples each instead of the paper's 6 and 4.
DEMO_GENERATION = {"critique_examples": 2, "revision_examples": 2}


class Command(BaseCommand):
    help = (
        "Run the whole pipeline in the foreground (questions, teacher outputs, students for the four study "
        "conditions, predictions, an open study), reusing finished stages, then serve the site."
    )

    def add_arguments(self, parser):
        add_data_and_teacher_options(
            parser, default_data=str(DEMO_DATA), default_teacher=DEMO_TEACHER, default_limit=DEMO_LIMIT
        )
        parser.add_argument(
            "--dataset",
            choices=list(DATASETS),
            help="which dataset the data holds (default: what its files say; with --data hub, cqa)",
        )
        parser.add_argument(
            "--student",
            default=DEMO_STUDENT,
            help=f"default {DEMO_STUDENT} (SmolLM2-135M-Instruct with LoRA); random:t5-tiny trains a tiny T5 whole",
        )
        parser.add_argument(
            "--steps",
            type=int,
            help=f"training steps (default {PRETRAINED_STEPS}; {RANDOM_STEPS} for a random:... student)",
        )
        parser.add_argument(
            "--decision-study",
            action="store_true",
            help="also open a decision study beside the rating study: people answer, see a student's advice "
            "(none, its answer, or its answer and explanation) and answer again",
        )
        parser.add_argument("--no-serve", action="store_true", help="stop once the study is open")
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000", help="where to serve")

    def handle(self, *args, student, steps, no_serve, addrport, decision_study, dataset, **options):
        tiny = student.startswith(RANDOM_PREFIX)
        if steps is None:
            steps = RANDOM_STEPS if tiny else PRETRAINED_STEPS
        if steps < 1:
            raise CommandError(f"--steps must be at least 1, got {steps}")
        echo = self.stdout.write
        with pipeline_errors():
            plan = Plan(
                data=options["data"],
                teacher=teacher_from_options(options),
                students=(student,),
                cells=STUDY_CONDITIONS,
                hyperparameters={
                    **(
                        RANDOM_HYPERPARAMETERS
                        if tiny
                        else PRETRAINED_HYPERPARAMETERS | pretrained_precision()
                    ),
                    "max_steps": steps,
                    # One held-out evaluation, at the end: the demo's held-out share is one or two questions, and
                    # with two or three options (StrategyQA, e-SNLI) its accuracy swings between 0 and 1 from one
                    # evaluation to the next, which the divergence check would take for a collapse.
                    "eval_every": steps,
                },
                generation_config=DEMO_GENERATION,
                limit=options["limit"],
                dataset=dataset,
                study_title="Demo: explanations of small students",
                study_options={"allow_anonymous": True, "completion_url": ""},
                decision_study=decision_study,
            )
            outcome = advance(plan=plan, runner=ForegroundRunner(echo), echo=echo)
        call_command("ensure_admin", stdout=self.stdout)
        self._print_links(outcome.study, addrport, tiny=tiny, same_as_teacher=student == SMOLLM2)
        if outcome.decision_study is not None:
            self._print_decision_links(outcome.decision_study, addrport)
        if not no_serve:
            run_beat_in_thread()  # no broker: release abandoned sessions, fail stale runs and reports, beside the server
            call_command("runserver", addrport, use_reloader=False)

    def _print_decision_links(self, study, addrport: str) -> None:
        base = _base_url(addrport)
        self.stdout.write(
            self.style.SUCCESS("\nThe decision study is open too.")
            + f"\n  Participant link: {base}/s/{study.entry_token}/"
            + f"\n  Study dashboard:  {base}/studies/{study.pk}/"
            + f"\n  Study results:    {base}/studies/{study.pk}/results/  (answer a few items first)"
        )

    def _print_links(self, study, addrport: str, tiny: bool, same_as_teacher: bool) -> None:
        base = _base_url(addrport)
        credentials = credentials_file()
        login = credentials.read_text().strip().replace("\n", ", ") if credentials.exists() else "see above"
        self.stdout.write(
            self.style.SUCCESS("\nThe study is open.")
            + f"\n  Annotator link:  {base}/s/{study.entry_token}/"
            + f"\n  Admin:           {base}/admin/  ({login})"
            + f"\n  Study dashboard: {base}/studies/{study.pk}/"
            + f"\n  Study results:   {base}/studies/{study.pk}/results/  (rate a few items first)"
            + f"\n  Student results: {base}/runs/results/"
            + f"\n  Artifacts:       {settings.ARTIFACTS_DIR}"
        )
        if tiny:
            self.stdout.write(
                "Tiny CPU students answer near chance: the demo shows the machinery, not the paper's findings."
            )
        if same_as_teacher:
            self.stdout.write(
                "Teacher and students are the same small model here (SmolLM2-135M-Instruct, the students LoRA-tuned "
                "for a few steps): the demo shows the method, not a gain from distillation."
            )


def _base_url(addrport: str) -> str:
    host, _, port = addrport.rpartition(":")
    return f"http://{host or '127.0.0.1'}:{port or addrport}"
