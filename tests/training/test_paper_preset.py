"""The `paper` preset feeds students exactly what the study's code fed them.

The expected strings are written from the study's code as quoted in issue 15, not from `formats.py`: trailing
spaces, the `[answer]`, `[factual] Answer:` and `[counterfactual]` target prefixes and the literal backslash of
`\\Rationale:` included.
"""

import json

import pytest

from training.cli import main
from training.config import TrainConfig
from training.examples import question_segments
from training.formats import read_output
from training.presets import preset_settings

from .conftest import DATA

Q_SCISSORS = (
    "Question: What do you use to cut paper?\nChoices: (a) spoon (b) scissors (c) cup (d) hat (e) rope"
)
Q_CUP = "Question: Where would you put a cup after washing it?\nChoices: (a) cupboard (b) oven (c) garden (d) bed (e) car"
UNREVISED = "Scissors have two sharp blades made for cutting paper."
REVISED = "Paper is cut with scissors, whose two sharp blades slide past each other."
GOLD_OPTION = "Scissors have blades made for cutting paper."  # the teacher's explanation of option (b)
SPOON = "A spoon has an edge that might tear paper."  # ... of option (a), the first wrong one


def paper(method: str, variant: str = "unrevised") -> TrainConfig:
    return TrainConfig(method=method, data_variant=variant, **preset_settings("paper", method))


def fed(question, teacher, config):
    segments, problems = question_segments(question, teacher, config)
    assert not problems
    return [(s.task, s.input, s.target) for s in segments]


@pytest.mark.parametrize(("variant", "explanation"), [("unrevised", UNREVISED), ("revised", REVISED)])
def test_multitask_counterfactual_is_fed_the_studys_strings(variant, explanation, questions, teacher):
    assert fed(questions[1], teacher["q02"], paper("multitask_counterfactual", variant)) == [
        ("predict", "[predict] " + Q_SCISSORS + " ", "[answer] The answer is scissors"),
        ("explain", "[explain] " + Q_SCISSORS + " ", explanation),
        # The factual target is the gold option's explanation, whatever the data variant.
        (
            "factual",
            "[factual] " + Q_SCISSORS + " ",
            "[factual] Answer: " + GOLD_OPTION + " So the answer is scissors.",
        ),
        (
            "counterfactual",
            "[counterfactual] " + Q_SCISSORS + "\\Rationale: " + SPOON + " ",
            "[counterfactual] So the answer is spoon.",
        ),
    ]


def test_the_backslash_is_one_literal_character(questions, teacher):
    (_, _, _, (_, cf_input, _)) = fed(questions[1], teacher["q02"], paper("multitask_counterfactual"))
    assert "rope\x5cRationale: " in cf_input and "\n" not in cf_input.split("Choices:")[1]


def test_multitask_and_standard_use_the_answer_prefix(questions, teacher):
    assert fed(questions[1], teacher["q02"], paper("multitask")) == [
        ("predict", "[predict] " + Q_SCISSORS + " ", "[answer] The answer is scissors"),
        ("explain", "[explain] " + Q_SCISSORS + " ", UNREVISED),
    ]
    assert fed(questions[1], teacher["q02"], paper("standard")) == [
        ("predict", "[predict] " + Q_SCISSORS + " ", "[answer] The answer is scissors")
    ]


def test_counterfactual_only_takes_option_a_even_when_it_is_gold(questions, teacher):
    # Question q01's gold answer is (a) cupboard: the study's counterfactual-only code still takes option (a).
    assert fed(questions[0], teacher["q01"], paper("counterfactual", "revised")) == [
        (
            "factual",
            "[factual] " + Q_CUP + " ",
            "[factual] Answer: After washing, a cup is dried and put back in the kitchen cupboard where dishes are "
            "stored. So the answer is cupboard.",
        ),
        (
            "counterfactual",
            "[counterfactual] " + Q_CUP + "\\Rationale: Cups are kept in a cupboard with the other dishes. ",
            "[counterfactual] So the answer is cupboard.",
        ),
    ]


def test_multitask_counterfactual_takes_the_first_wrong_option(questions, teacher):
    *_, (task, cf_input, cf_target) = fed(questions[0], teacher["q01"], paper("multitask_counterfactual"))
    assert cf_input.endswith("\\Rationale: An oven could warm a cup, but it is for cooking food. ")
    assert cf_target == "[counterfactual] So the answer is oven."


def test_label_lengths_and_final_weights():
    assert paper("multitask").target_max_length == 300
    assert paper("counterfactual").target_max_length == 256
    assert {paper(m).evaluated_checkpoint for m in ("standard", "multitask", "counterfactual")} == {"final"}
    assert TrainConfig().evaluated_checkpoint == "best" and TrainConfig().wrong_option == "random"


def test_paper_outputs_read_back_without_their_prefixes():
    assert read_output("predict", "[answer] The answer is scissors", formats="paper") == ("scissors", "")
    assert read_output(
        "factual", "[factual] Answer: Blades cut. So the answer is scissors.", formats="paper"
    ) == (
        "scissors",
        "Blades cut.",
    )
    assert read_output("counterfactual", "[counterfactual] So the answer is spoon.", formats="paper") == (
        "spoon",
        "",
    )


def test_each_preset_choice_is_its_own_option(questions, teacher):
    # The paper's formats with the project's random wrong option and the variant's factual text.
    config = TrainConfig(method="multitask_counterfactual", formats="paper", seed=3)
    tasks = fed(questions[1], teacher["q02"], config)
    assert tasks[2][2] == "[factual] Answer: " + UNREVISED + " So the answer is scissors."
    assert tasks[0][1].endswith(" ") and tasks[3][1].count("\\Rationale: ") == 1


def test_formats_command_prints_one_json_object_per_task(capsys):
    argv = ["formats", "--preset", "paper", "--method", "multitask_counterfactual", "--variant", "unrevised"]
    argv += ["--data", str(DATA), "--split", "train", "--teacher-outputs", str(DATA / "teacher_train.jsonl")]
    assert main([*argv, "--limit", "2"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["question_id"], r["task"]) for r in rows] == [
        (qid, task) for qid in ("q01", "q02") for task in ("predict", "explain", "factual", "counterfactual")
    ]
    assert rows[4] == {
        "question_id": "q02",
        "task": "predict",
        "input": "[predict] " + Q_SCISSORS + " ",
        "target": "[answer] The answer is scissors",
    }


def test_train_options_win_over_the_preset():
    from training.cli import build_parser
    from training.commands.train import config_from_args

    args = build_parser().parse_args(
        ["train", "--data", "d", "--output", "o", "--preset", "paper", "--method", "counterfactual"]
        + ["--wrong-option", "random"]
    )
    config = config_from_args(args)
    assert (config.formats, config.wrong_option, config.label_max_length) == ("paper", "random", 256)


@pytest.mark.parametrize(
    ("student", "loss_on_prompt"),
    [("random:llama-tiny", True), ("smollm2", True), ("Qwen/Qwen3-0.6B", True), ("random:t5-tiny", False)],
)
def test_the_paper_preset_counts_prompt_tokens_for_causal_students(student, loss_on_prompt):
    """The study's extension trains its decoder-only students on prompt + completion."""
    from training.cli import build_parser
    from training.commands.train import config_from_args

    args = ["train", "--data", "d", "--output", "o", "--student", student]
    assert (
        config_from_args(build_parser().parse_args(args + ["--preset", "paper"])).loss_on_prompt
        is loss_on_prompt
    )
    assert config_from_args(build_parser().parse_args(args)).loss_on_prompt is False  # the project preset
    given = ["--preset", "paper", "--loss-on-prompt", "false"]
    assert config_from_args(build_parser().parse_args(args + given)).loss_on_prompt is False


def test_a_checkpoint_is_asked_in_the_formats_it_was_trained_on():
    from training.inference import settings_from_info

    assert settings_from_info({"config": paper("multitask").to_json()}).formats == "paper"
    assert settings_from_info({"config": {}}).formats == "project"  # checkpoints written before presets
