"""CommonsenseQA from the hub: the parquet layout is read and validated; offline is a clear error."""

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from training.cqa import DataError, load_split
from training.hub import HubUnavailableError, load_cqa_from_hub, read_cqa_parquet


def write_parquet(path, rows):
    pq.write_table(pa.Table.from_pylist(rows), path)
    return path


def hub_row(qid, answer_key="A"):
    return {
        "id": qid,
        "question": "Where would you put a clean cup?",
        "question_concept": "cup",
        "choices": {"label": list("ABCDE"), "text": ["cupboard", "oven", "garden", "bed", "car"]},
        "answerKey": answer_key,
    }


def test_hub_parquet_rows_become_questions(tmp_path):
    path = write_parquet(tmp_path / "validation-00000-of-00001.parquet", [hub_row("q1"), hub_row("q2", "C")])
    sample_questions = read_cqa_parquet([path])
    assert [(q.id, q.answer_text) for q in sample_questions] == [("q1", "cupboard"), ("q2", "garden")]


def test_a_bad_parquet_row_is_named_and_nothing_loads(tmp_path):
    path = write_parquet(tmp_path / "train.parquet", [hub_row("q1"), hub_row("q2", "")])
    with pytest.raises(DataError, match=r"train.parquet:2: answerKey: '' is not among the labels"):
        read_cqa_parquet([path])


def test_offline_hub_is_a_clear_error_that_says_how_to_use_a_local_folder(tmp_path, monkeypatch):
    with pytest.raises(HubUnavailableError, match="pass a local folder holding cqa_train.jsonl"):
        load_cqa_from_hub("validation", cache_dir=tmp_path, endpoint="http://127.0.0.1:9")
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    with pytest.raises(HubUnavailableError, match="cannot download tau/commonsense_qa"):
        load_split("hub", "train")
