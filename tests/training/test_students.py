"""Loading students: named random configs with a tokenizer built offline, local folders, and the hub's absence."""

import huggingface_hub.constants
import pytest

from training.students import StudentUnavailable, build_tokenizer, load_student, supports_packing

TEXTS = ["[predict] Question: Where do fish live?", "The answer is water", "Fish breathe through gills."] * 5


def test_a_named_student_gets_a_tokenizer_built_offline_and_cached(tmp_path):
    tokenizer = build_tokenizer(TEXTS, vocab_size=300, cache_dir=tmp_path)
    cached = list((tmp_path / "tokenizers").iterdir())
    assert len(cached) == 1 and (cached[0] / "tokenizer.json").is_file()
    ids = tokenizer("Fish breathe through gills.")["input_ids"]
    assert ids[-1] == tokenizer.eos_token_id == 1 and tokenizer.pad_token_id == 0
    assert tokenizer.decode(ids, skip_special_tokens=True) == "Fish breathe through gills."
    assert build_tokenizer(TEXTS, vocab_size=300, cache_dir=tmp_path).get_vocab() == tokenizer.get_vocab()
    assert len(list((tmp_path / "tokenizers").iterdir())) == 1  # the second call read the cache

    student = load_student("random:t5-tiny", corpus=TEXTS, cache_dir=tmp_path)
    assert student.model.config.vocab_size == len(student.tokenizer)
    assert student.model.config.decoder_start_token_id == student.tokenizer.pad_token_id
    assert supports_packing(student.model)


def test_an_unreachable_hub_model_is_explained_plainly(monkeypatch):
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(StudentUnavailable) as error:
        load_student("google/t5-v1_1-base")
    message = str(error.value)
    assert "'google/t5-v1_1-base' is neither a local folder nor a named config" in message
    assert "the Hugging Face hub could not provide it" in message
    assert "hf download google/t5-v1_1-base --local-dir DIR" in message and "random:t5-small" in message


def test_local_folders_load_and_bad_ones_are_named(tmp_path, trained_multitask):
    result, _ = trained_multitask
    student = load_student(result.last_checkpoint)
    assert student.model.config.model_type == "t5" and student.source == result.last_checkpoint
    with pytest.raises(StudentUnavailable, match="config.json is missing"):
        load_student(str(tmp_path))
    with pytest.raises(StudentUnavailable, match="no student folder at"):
        load_student(str(tmp_path / "nowhere"))
    with pytest.raises(StudentUnavailable, match="the named ones are random:t5-tiny, random:t5-small"):
        load_student("random:t5-huge", corpus=TEXTS, cache_dir=tmp_path)
