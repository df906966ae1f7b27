"""`python -m training train | predict | evaluate` on the project's tiny data."""

import json

import pytest

from training.cli import main
from training.cqa import load_split

from .conftest import DATA


@pytest.mark.slow
def test_train_predict_evaluate_from_the_command_line(tmp_path, tokenizer_cache, capsys):
    run = tmp_path / "run"
    settings = ["--student", "random:t5-tiny", "--max-steps", "4", "--batch-size", "4", "--eval-every", "4"]
    settings += [
        "--max-new-tokens",
        "12",
        "--answer-max-new-tokens",
        "12",
        "--tokenizer-cache-dir",
        tokenizer_cache,
    ]
    assert (
        main(
            [
                "train",
                "--data",
                str(DATA),
                "--teacher",
                str(DATA / "teacher_train.jsonl"),
                "--output",
                str(run),
                "--limit",
                "10",
                *settings,
            ]
        )
        == 0
    )
    result = json.loads((run / "train_result.json").read_text())
    assert result["status"] == "completed" and result["global_step"] == 4
    assert result["last_eval_accuracy"] is not None  # evaluated on the held-out 10% of the train file
    printed = capsys.readouterr().out
    assert "9 train and 1 held-out questions" in printed  # --limit 10: the held-out share comes from the 10
    assert "completed at step 4/4" in printed

    checkpoint = result["last_checkpoint"]
    predictions = tmp_path / "predictions.jsonl"
    assert (
        main(["predict", "--checkpoint", checkpoint, "--data", str(DATA), "--output", str(predictions)]) == 0
    )
    rows = [json.loads(line) for line in predictions.read_text().splitlines()]
    assert [r["question_id"] for r in rows] == [q.id for q in load_split(DATA, "validation")]

    out = tmp_path / "eval"
    teacher = str(DATA / "teacher_validation.jsonl")
    assert (
        main(
            [
                "evaluate",
                "--checkpoint",
                checkpoint,
                "--data",
                str(DATA),
                "--teacher",
                teacher,
                "--output-dir",
                str(out),
            ]
        )
        == 0
    )
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["questions"] == 3 and metrics["counterfactual_probes"] == 3
    assert (out / "predictions.jsonl").is_file() and (out / "probes.jsonl").is_file()

    # A file of predictions is scored without the model, ours or recorded student outputs.
    assert (
        main(["evaluate", "--predictions", str(predictions), "--data", str(DATA), "--output-dir", str(out)])
        == 0
    )
    assert json.loads((out / "metrics.json").read_text())["accuracy"] == metrics["accuracy"]
    recorded = tmp_path / "recorded.jsonl"
    recorded.write_text(
        "\n".join(
            json.dumps({"id": qid, "predicted_answer": answer, "gold_answer": "", "explanation": "Because."})
            for qid, answer in (("v01", "key"), ("v02", "Oven"), ("v03", "watr"))
        )
    )
    assert (
        main(["evaluate", "--predictions", str(recorded), "--data", str(DATA), "--output-dir", str(out)]) == 0
    )
    scored = json.loads((out / "metrics.json").read_text())
    assert scored["accuracy"] == pytest.approx(2 / 3) and scored["answer_rules"] == {"exact": 2, "closest": 1}


def test_bad_settings_and_files_are_reported(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["train", "--data", str(DATA), "--output", str(tmp_path), "--method", "distil"])
    assert "invalid choice: 'distil'" in capsys.readouterr().err
    with pytest.raises(ValueError, match="alpha must be at least 0 and at most 1, got 2.0"):
        main(["train", "--data", str(DATA), "--output", str(tmp_path), "--alpha", "2"])
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"id": "nope", "predicted_answer": "x"}) + "\n")
    with pytest.raises(ValueError, match="bad.jsonl:1: id: 'nope' is not a question of the split"):
        main(["evaluate", "--predictions", str(bad), "--data", str(DATA)])
