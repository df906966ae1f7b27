"""CommonsenseQA from the Hugging Face hub (`tau/commonsense_qa`), when the machine is online.

The dataset's parquet files are downloaded with huggingface_hub (cached as usual in the hub cache) and every
row is validated like a local file, with the row number as the line.
"""

from collections.abc import Iterable
from pathlib import Path

from .cqa import SPLITS, DataError, Problem, Question, parse_questions

HUB_DATASET = "tau/commonsense_qa"


class HubUnavailableError(RuntimeError):
    """The hub could not be reached and no copy of the data is cached."""


def load_cqa_from_hub(
    split: str, *, cache_dir: str | Path | None = None, endpoint: str | None = None
) -> list[Question]:
    """Questions of `split` (train or validation) from the hub copy of CommonsenseQA."""
    from huggingface_hub import snapshot_download

    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
    pattern = f"data/{split}-*.parquet"
    try:
        folder = snapshot_download(
            HUB_DATASET, repo_type="dataset", allow_patterns=[pattern], cache_dir=cache_dir, endpoint=endpoint
        )
    except OSError as error:
        raise HubUnavailableError(
            f"cannot download {HUB_DATASET} from the Hugging Face hub ({str(error).splitlines()[0]}). "
            "Without hub access, pass a local folder holding cqa_train.jsonl and cqa_validation.jsonl "
            "(the commonsense_qa layout) instead of `hub`, e.g. --data ../shared/data/cqa"
        ) from None
    files = sorted(Path(folder).glob(pattern))
    if not files:
        raise HubUnavailableError(
            f"the hub copy of {HUB_DATASET} has no files matching {pattern} in {folder}"
        )
    return read_cqa_parquet(files)


def read_cqa_parquet(paths: Iterable[str | Path]) -> list[Question]:
    """Validate and read parquet files in the commonsense_qa layout. Raises DataError listing every problem."""
    import pyarrow.parquet as pq

    problems: list[Problem] = []
    questions: list[Question] = []
    first_file: dict[str, str] = {}
    for path in paths:
        rows = enumerate(pq.read_table(path).to_pylist(), start=1)
        for question in parse_questions(rows, file=str(path), problems=problems):
            if question.id in first_file:
                problems.append(
                    Problem(
                        str(path),
                        0,
                        "id",
                        f"duplicate id {question.id!r} (also in {first_file[question.id]})",
                    )
                )
                continue
            first_file[question.id] = str(path)
            questions.append(question)
    if problems:
        raise DataError(problems)
    return questions
