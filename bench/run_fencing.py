"""What fencing a run's attempt costs per training step, on the configured database.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/distill .venv/bin/python bench/run_fencing.py [--writes 2000]

Runs in a throwaway database (`test_<name>`, created and dropped like the test suite's) and prints the time of:
- one fenced progress write (`JobContext.update(..., write_now=True)`: the attempt's row, then the run's row
  with its attempt number and status in the WHERE clause), which training does after every step;
- the unfenced write it replaced (the run's row, by status only), and the ratio;
- `JobContext.may_write()`, asked before each checkpoint is saved or deleted;
- `JobContext.fenced()`, the transaction that locks the run's rows around what a job stores.
"""

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "distill_site.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from models_app import jobs  # noqa: E402
from models_app.models import Dataset, GenerationRun, Run, Teacher  # noqa: E402


def per_call_ms(count: int, func) -> float:
    start = time.perf_counter()
    for i in range(count):
        func(i)
    return (time.perf_counter() - start) / count * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writes", type=int, default=2000, help="calls timed of each kind")
    n = parser.parse_args().writes

    print(f"database: {connection.vendor} {connection.settings_dict['NAME']} (a throwaway copy is used)")
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        teacher = Teacher.objects.create(name="bench", backend="recorded", model="bench.jsonl")
        dataset = Dataset.objects.create(name="bench")
        run = GenerationRun.objects.create(
            teacher=teacher, dataset=dataset, split="train", method="explain", status=Run.Status.QUEUED
        )
        ctx = jobs.JobContext(jobs.claim(Run, run.pk, task_id=None))
        fenced = per_call_ms(n, lambda i: ctx.update(i, n, write_now=True))
        plain = per_call_ms(
            n,
            lambda i: Run.objects.filter(pk=run.pk, status=Run.Status.RUNNING).update(
                progress_done=i, progress_total=n, heartbeat_at=timezone.now(), log_tail=""
            ),
        )
        may_write = per_call_ms(n, lambda i: ctx.may_write())

        def store(i: int) -> None:
            with ctx.fenced():
                pass

        locked = per_call_ms(n, store)
        assert not ctx.cancelled, "the attempt lost its run during the benchmark"
        print(f"fenced progress write (every training step)  {fenced:6.3f} ms")
        print(f"unfenced write it replaced                    {plain:6.3f} ms   ratio {fenced / plain:.2f}")
        print(f"may_write (before a checkpoint is saved)      {may_write:6.3f} ms")
        print(f"fenced() transaction around a store           {locked:6.3f} ms")
        print(f"({n} calls each; a T5-base step on a GPU takes a few hundred ms)")
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
