"""What `demo` and `reproduce` share: the data and teacher options, and the errors they report."""

from contextlib import contextmanager

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError

from studies.pipeline import HUB, PipelineError
from studies.services import StudyDesignError
from training.cqa import DataError
from training.hub import HubUnavailableError
from training.teacher import BACKENDS, ENDPOINTS, TeacherSpec, parse_teacher


def add_data_and_teacher_options(
    parser, *, default_data: str, default_teacher: str, default_limit: int | None = None
) -> None:
    parser.add_argument(
        "--data",
        default=default_data,
        help=f"a folder laid out like ../shared/data/cqa, ../shared/data/strategyqa or ../shared/data/esnli "
        f"(which dataset it holds is read from its files), or '{HUB}' for the Hugging Face hub (default "
        f"{default_data})",
    )
    parser.add_argument(
        "--limit",
        type=int,
        default=default_limit,
        help="only the first N questions of each split"
        + (f" (default {default_limit})" if default_limit else ""),
    )
    parser.add_argument(
        "--teacher",
        default=default_teacher,
        help=f"BACKEND:MODEL with BACKEND one of {', '.join(BACKENDS)} (e.g. transformers:smollm2, "
        "openai:llama3.1 with --base-url, recorded:FILE), or a JSON file holding a teacher spec "
        f"(default {default_teacher})",
    )
    parser.add_argument("--base-url", help="the OpenAI-compatible server, e.g. http://gpu-host:8000/v1")
    parser.add_argument("--endpoint", choices=ENDPOINTS, help="chat (default) or completions")
    parser.add_argument("--api-key-env", help="the environment variable holding the API key")


def teacher_from_options(options: dict) -> TeacherSpec:
    try:
        return parse_teacher(
            options["teacher"],
            base_url=options["base_url"],
            endpoint=options["endpoint"],
            api_key_env=options["api_key_env"],
        )
    except (ValueError, TypeError, OSError) as error:
        raise CommandError(f"--teacher: {error}") from None


@contextmanager
def pipeline_errors():
    """Problems a user can fix become a CommandError with the message that says how."""
    try:
        yield
    except ValidationError as error:
        raise CommandError("; ".join(error.messages)) from None
    except (PipelineError, StudyDesignError, DataError, HubUnavailableError, FileNotFoundError) as error:
        raise CommandError(str(error)) from None
