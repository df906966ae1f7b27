r"""`python -m training generate`: teacher outputs for a CQA split, appended to a JSONL file, resumable.

    python -m training generate --data ../shared/data/cqa --split train --teacher transformers:smollm2 \
        --method explain --out var/explain.jsonl

Rerunning the same command continues where the last run stopped (the out file is the store: what it holds
is skipped) and retries the outputs that failed; with the response cache, regenerating into a new file makes
no teacher call.
"""

import argparse
import fcntl
import logging
import sys
from pathlib import Path

from ..cli import add_dataset_options
from ..cqa import DataError, load_split
from ..generation import METHODS, Generation, GenerationConfig
from ..key_values import parse_key_values
from ..prompts import CRITIQUE_EXAMPLES, EXPLAIN_EXAMPLES, REVISION_EXAMPLES
from ..response_cache import RESPONSE_CACHE_FOLDER, ResponseCache
from ..teacher import BACKENDS, ENDPOINTS, TeacherError, TeacherSpec, parse_teacher
from ..teacher_factory import build_teacher
from ..teacher_outputs import read_teacher_file, write_outputs
from ..user_cache import default_cache_dir


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "generate",
        help="generate teacher outputs: explanations, critiques and revisions, option explanations",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--data", required=True, help="a JSONL file, a folder like ../shared/data/strategyqa, or hub[:NAME]"
    )
    add_dataset_options(parser, split_default="train")
    parser.add_argument("--limit", type=int, help="only the first N questions")
    parser.add_argument(
        "--teacher",
        required=True,
        help=f"BACKEND:MODEL with BACKEND one of {', '.join(BACKENDS)} (e.g. transformers:smollm2, "
        "openai:llama3.1, recorded:teacher.jsonl), or a JSON file holding a teacher spec",
    )
    parser.add_argument("--base-url", help="the OpenAI-compatible server, e.g. http://gpu-host:8000/v1")
    parser.add_argument("--endpoint", choices=ENDPOINTS, help="chat (default) or completions")
    parser.add_argument("--api-key-env", help="the environment variable holding the API key")
    parser.add_argument(
        "--decoding", action="append", default=[], metavar="KEY=VALUE", help="e.g. max_new_tokens=64"
    )
    parser.add_argument(
        "--teacher-option", action="append", default=[], metavar="KEY=VALUE", help="e.g. max_in_flight=16"
    )
    parser.add_argument("--method", choices=METHODS, required=True)
    parser.add_argument("--out", type=Path, required=True, help="JSONL file the outputs are appended to")
    parser.add_argument(
        "--cache",
        type=Path,
        help=f"folder of the teacher response cache (default {default_cache_dir() / RESPONSE_CACHE_FOLDER})",
    )
    parser.add_argument("--no-cache", action="store_true", help="neither read nor write the response cache")
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of the random draws (examples, styles, requests)"
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        help="prompts per teacher call and per write (default: the teacher's choice)",
    )
    parser.add_argument("--explain-examples", type=int, default=EXPLAIN_EXAMPLES)
    parser.add_argument("--critique-examples", type=int, default=CRITIQUE_EXAMPLES)
    parser.add_argument("--revision-examples", type=int, default=REVISION_EXAMPLES)
    parser.set_defaults(func=run)


def teacher_spec(args: argparse.Namespace) -> TeacherSpec:
    """The teacher spec from --teacher (BACKEND:MODEL or a JSON file) and the flags that refine it."""
    return parse_teacher(
        args.teacher,
        base_url=args.base_url,
        endpoint=args.endpoint,
        api_key_env=args.api_key_env,
        decoding=parse_key_values(args.decoding, "--decoding"),
        options=parse_key_values(args.teacher_option, "--teacher-option"),
    )


def drop_torn_tail(path: Path) -> int:
    """Cut a last line left unfinished by a killed run; returns the bytes dropped."""
    with open(path, "r+b") as handle:
        size = handle.seek(0, 2)
        if not size:
            return 0
        handle.seek(-1, 2)
        if handle.read(1) == b"\n":
            return 0
        keep = size
        while keep > 0:
            step = min(keep, 1 << 16)
            handle.seek(keep - step)
            found = handle.read(step).rfind(b"\n")
            if found >= 0:
                keep = keep - step + found + 1
                break
            keep -= step
        handle.truncate(keep)
        return size - keep


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        questions = load_split(args.data, args.split, args.dataset)[: args.limit]
        spec = teacher_spec(args)
        config = GenerationConfig(
            method=args.method,
            seed=args.seed,
            batch_size=args.batch_size,
            explain_examples=args.explain_examples,
            critique_examples=args.critique_examples,
            revision_examples=args.revision_examples,
        )
    except (DataError, OSError, ValueError, RuntimeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "a", encoding="utf-8") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(
                f"error: another process is writing {args.out}; wait for it or choose another --out",
                file=sys.stderr,
            )
            return 2
        return _generate(args, questions, spec, config)


def _generate(args, questions, spec: TeacherSpec, config: GenerationConfig) -> int:
    dropped = drop_torn_tail(args.out)
    if dropped:
        print(f"dropped an unfinished last line ({dropped} bytes) left in {args.out} by an interrupted run")
    try:
        stored, recorded = read_teacher_file(args.out)
        if recorded:
            raise ValueError(
                f"{args.out} holds recorded teacher outputs, not generation records: choose another --out"
            )
        teacher = build_teacher(spec)
    except (DataError, TeacherError, ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        return _run(args, questions, teacher, config, stored)
    finally:
        teacher.close()


def _run(args, questions, teacher, config: GenerationConfig, stored) -> int:
    from tqdm import tqdm

    cache_folder = args.cache or default_cache_dir() / RESPONSE_CACHE_FOLDER
    cache = None if args.no_cache else ResponseCache(cache_folder, teacher.describe())
    try:
        generation = Generation(questions, teacher, config, stored=stored, cache=cache)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    bar = tqdm(total=generation.total, unit="output", desc=f"{args.method} {args.split}", file=sys.stderr)

    def progress(done: int, total: int) -> None:
        bar.n = done
        bar.refresh()

    generation.progress = progress
    status = 0
    try:
        for records in generation:
            write_outputs(records, args.out)
    except TeacherError as error:
        print(f"\nerror: {error}", file=sys.stderr)
        status = 1
    except KeyboardInterrupt:
        print("\ninterrupted: rerun the same command to continue", file=sys.stderr)
        status = 130
    finally:
        bar.close()
    stats = generation.stats
    print(f"{args.out}: {stats.summary()}")
    if stats.failures:
        print("failures:\n  " + "\n  ".join(stats.errors), file=sys.stderr)
        print("rerun the same command to retry the failed outputs", file=sys.stderr)
        status = status or 1
    return status
