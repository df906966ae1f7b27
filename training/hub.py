"""Datasets from the Hugging Face hub through `datasets`, when the machine is online (or the hub cache holds them).

Each registry entry (`training.datasets`) names its hub id and maps a hub row to the project's layout; every row
is then validated like a line of a local file, with the row number as the line.
"""

from collections.abc import Iterable
from pathlib import Path

from .cqa import DataError, Problem, Question, parse_questions
from .datasets import DatasetSpec, dataset_spec


class HubUnavailableError(RuntimeError):
    """The hub could not be reached and no copy of the data is cached."""


def load_from_hub(dataset: str, split: str, *, cache_dir: str | Path | None = None) -> list[Question]:
    """Questions of `split` of `dataset` (a registry name) from its hub copy."""
    import datasets
    from datasets.exceptions import DatasetNotFoundError

    spec = dataset_spec(dataset)
    spec.split_files(split)  # an unknown split is refused before any download
    try:
        rows = datasets.load_dataset(
            spec.hub_id, spec.hub_config, split=split, cache_dir=str(cache_dir) if cache_dir else None
        )
    except (OSError, ConnectionError, DatasetNotFoundError) as error:
        folder = f"../shared/data/{spec.name}"
        raise HubUnavailableError(
            f"cannot load {spec.hub_id} from the Hugging Face hub ({str(error).splitlines()[0]}). "
            f"Without hub access, pass a local folder holding {' or '.join(spec.split_files(split))} "
            f"instead of `hub`, e.g. --data {folder}"
        ) from None
    return questions_from_rows(rows, spec, source=f"{spec.hub_id} ({split})")


def questions_from_rows(rows: Iterable[dict], dataset: str | DatasetSpec, *, source: str) -> list[Question]:
    """Validate hub rows (e.g. a `datasets.Dataset`) of `dataset`. Raises DataError listing every problem."""
    spec = dataset_spec(dataset)
    problems: list[Problem] = []
    numbered = ((number, spec.hub_row(row)) for number, row in enumerate(rows, start=1))
    questions = parse_questions(numbered, file=source, problems=problems, dataset=spec)
    if not questions and not problems:
        problems.append(Problem(source, 0, "", "the hub split holds no questions"))
    if problems:
        raise DataError(problems)
    return questions
