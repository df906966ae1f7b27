"""Load benchmark of the annotator pages: N simulated annotators against gunicorn on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/distill \\
        .venv/bin/python bench/study_load.py --data ../shared/data/cqa [--levels 10,50,100] [--think 5,0]

For each N and think time, a fresh study over four real conditions (the T5-large MT+CF students on unrevised
and revised explanations, the LLaMA-2 teacher's few-shot and revised explanations) is opened, and N annotators
start at the same moment and go through entry, consent, instructions, demographics and every item (12 + 1
attention check), pausing `--think` seconds on each page (0: as fast as the server answers). The server runs
as deployed: gunicorn sync workers, DEBUG off, behind a TLS proxy (the client sends X-Forwarded-Proto: https),
persistent database connections. It prints p50/p95 latency of the item page and of a rating submission,
ratings stored per second and the CPU each request cost the web server and the database (comparable across
machines and load, unlike latency), then checks the database: every acknowledged rating stored once, with
the submitted value, none missing, none extra. The annotators share this machine's cores with the server.

`Annotator` is also what tests/studies/test_load.py runs against Django's live test server.
"""

import argparse
import http.client
import json
import os
import random
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parents[1]

CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
RADIO = re.compile(r'type="radio" name="([\w-]+)" value="([^"]+)"')
ITEM_PATH = re.compile(r"/item/(\d+)/$")
INSTRUCTED = re.compile(r"\((\d)\) for every statement")


class UnexpectedResponse(AssertionError):
    pass


@dataclass
class Annotator:
    """One simulated participant: a cookie jar, a connection, and what the server acknowledged."""

    base_url: str
    entry_path: str
    pid: str
    headers: dict = field(default_factory=dict)
    think: float = 0.0
    seed: int = 0
    cookies: dict = field(default_factory=dict)
    latencies: dict = field(default_factory=lambda: {"item page": [], "rating submit": []})
    submitted: dict = field(default_factory=dict)  # position -> {scale: value}, acknowledged by a redirect
    final_path: str = ""
    requests: int = 0

    def __post_init__(self):
        parts = urlsplit(self.base_url)
        self._host, self._port = parts.hostname, parts.port
        self._origin = (
            f"https://{parts.netloc}" if self.headers.get("X-Forwarded-Proto") == "https" else self.base_url
        )
        self._connection = http.client.HTTPConnection(self._host, self._port, timeout=60)
        self._rng = random.Random(self.seed)

    def request(
        self, method: str, path: str, form: dict | None = None, kind: str = ""
    ) -> tuple[int, str, str]:
        """(status, Location, body text); the latency goes under `kind` when given."""
        headers = dict(self.headers)
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Referer"] = self._origin + path
        started = time.perf_counter()
        for attempt in (1, 2):
            try:
                self._connection.request(method, path, body=body, headers=headers)
                response = self._connection.getresponse()
                text = response.read().decode()
                break
            except (ConnectionResetError, http.client.RemoteDisconnected, BrokenPipeError):
                # The server closed a kept-alive connection before this request reached it: it never saw it.
                self._connection.close()
                if attempt == 2:
                    raise
        self.requests += 1
        if kind:
            self.latencies[kind].append(time.perf_counter() - started)
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name] = rest.split(";", 1)[0]
        location = response.getheader("Location", "")
        if location.startswith("http"):
            location = urlsplit(location).path
        return response.status, location, text

    def expect_redirect(self, method: str, path: str, form: dict | None = None, kind: str = "") -> str:
        status, location, text = self.request(method, path, form, kind)
        if status != 302:
            raise UnexpectedResponse(
                f"{self.pid}: {method} {path} gave {status}, not a redirect: {text[:300]}"
            )
        return location

    def page(self, path: str, kind: str = "") -> str:
        status, _, text = self.request("GET", path, kind=kind)
        if status != 200:
            raise UnexpectedResponse(f"{self.pid}: GET {path} gave {status}: {text[:300]}")
        if self.think:  # people differ: between half and one and a half times the mean
            time.sleep(self.think * self._rng.uniform(0.5, 1.5))
        return text

    def _post_form(self, path: str, page: str, fields: dict, kind: str = "") -> str:
        csrf = CSRF_INPUT.search(page).group(1)
        return self.expect_redirect("POST", path, {"csrfmiddlewaretoken": csrf, **fields}, kind)

    def run(self) -> None:
        """Enter with the Prolific ids and go through every page to the end."""
        query = urlencode({"PROLIFIC_PID": self.pid, "STUDY_ID": "bench", "SESSION_ID": f"s-{self.pid}"})
        entry = f"{self.entry_path}?{query}"
        path = self._post_form(entry, self.page(entry), {"consent": "yes"})  # consent creates the participant
        while path.endswith(("/instructions/", "/about-you/")):
            page = self.page(path)
            fields = {}  # demographics: the first option of every question
            for name, value in RADIO.findall(page):
                fields.setdefault(name, value)
            path = self._post_form(path, page, fields)
        while match := ITEM_PATH.search(path):
            page = self.page(path, kind="item page")
            position = int(match.group(1))
            instructed = INSTRUCTED.search(page)
            values = {}
            for name, value in RADIO.findall(page):
                values.setdefault(name, [])
                values[name].append(int(value))
            answers = {
                name: int(instructed.group(1)) if instructed else self._rng.choice(points)
                for name, points in values.items()
            }
            path = self._post_form(path, page, answers, kind="rating submit")
            self.submitted[position] = answers
        self.final_path = path


def run_annotators(annotators: list[Annotator]) -> tuple[float, list[BaseException]]:
    """Start them all at the same moment, each in its own thread; returns (wall seconds, errors)."""
    barrier = threading.Barrier(len(annotators))
    errors: list[BaseException] = []

    def go(annotator: Annotator) -> None:
        barrier.wait()
        try:
            annotator.run()
        except BaseException as exc:  # reported by the caller, with the others'
            errors.append(exc)

    threads = [threading.Thread(target=go, args=(a,)) for a in annotators]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started, errors


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def stored_ratings(study_id: int) -> dict[tuple[str, int], dict[str, int]]:
    """(Prolific id, position) -> {scale: value}, as stored; fails on a second rating of a slot and scale."""
    from studies.models import Rating

    stored: dict[tuple[str, int], dict[str, int]] = {}
    for pid, position, scale, value in Rating.objects.filter(
        assignment__participant__study_id=study_id
    ).values_list("assignment__participant__prolific_pid", "assignment__position", "scale__name", "value"):
        slot = stored.setdefault((pid, position), {})
        assert scale not in slot, f"duplicate rating: {pid} position {position} scale {scale}"
        slot[scale] = value
    return stored


def compare_with_database(study_id: int, annotators: list[Annotator]) -> tuple[int, int, int]:
    """(stored ratings, lost ratings, unexpected ratings) against what the server acknowledged."""
    stored = stored_ratings(study_id)
    acknowledged = {(a.pid, pos): values for a in annotators for pos, values in a.submitted.items()}
    lost = sum(
        len(values) if (key not in stored) else sum(stored[key].get(s) != v for s, v in values.items())
        for key, values in acknowledged.items()
    )
    unexpected = sum(len(values) for key, values in stored.items() if key not in acknowledged)
    return sum(len(v) for v in stored.values()), lost, unexpected


# --- the benchmark itself: real data, gunicorn as deployed ---


def setup_django(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "distill_site.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def bench_dataset(data: Path):
    """The CQA validation questions, imported once into the benchmark's own dataset."""
    from models_app.models import OPTION_LABELS, Dataset, Question

    dataset, created = Dataset.objects.get_or_create(
        name="cqa-validation (bench)", defaults={"source": str(data)}
    )
    if created:
        rows = [json.loads(line) for line in (data / "cqa_validation.jsonl").read_text().splitlines()]
        Question.objects.bulk_create(
            Question(
                dataset=dataset,
                external_id=row["id"],
                split=Question.Split.VALIDATION,
                text=row["question"],
                choices=row["choices"]["text"],
                answer_key=row["answerKey"],
            )
            for row in rows
            if row["choices"]["label"] == list(OPTION_LABELS)
        )
    return dataset


def teacher_lines(data: Path, key: str) -> list[str]:
    """The teacher file as (id, gold answer, explanation) lines: the teacher was given the gold answer."""
    return [
        json.dumps({"id": row["id"], "answer": row["answer"], "explanation": row[key].strip().split("\n")[0]})
        for row in map(json.loads, (data / "teacher_llama2_validation.jsonl").read_text().splitlines())
    ]


def make_bench_study(data: Path, dataset, title: str):
    from studies import services

    study = services.create_study(title=title, attention_checks=0, item_count=40)
    sources = {
        "multitask_counterfactual/unrevised": (data / "student_t5large_mt_cf_unrevised_validation.jsonl")
        .read_text()
        .splitlines(),
        "multitask_counterfactual/revised": (data / "student_t5large_mt_cf_revised_validation.jsonl")
        .read_text()
        .splitlines(),
        "teacher/unrevised": teacher_lines(data, "explanation"),
        "teacher/revised": teacher_lines(data, "revised_explanation"),
    }
    for name, lines in sources.items():
        parsed = services.parse_condition_file(lines=lines, dataset=dataset, source=name)
        services.add_jsonl_condition(study=study, name=name, parsed=parsed, source=name)
    services.add_attention_check(study=study, position=7)
    services.sample_items(study=study, seed=0)
    return services.open_study(study=study)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gunicorn(*, workers: int, env: dict, port: int | None = None) -> tuple[subprocess.Popen, str]:
    """gunicorn with sync workers on 127.0.0.1, started with `env` on top of this environment.

    Returns the process and its base URL once /healthz answers.
    """
    port = port or free_port()
    env = {**os.environ, "LOG_LEVEL": "WARNING", **env}
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "distill_site.wsgi:application", "--bind", f"127.0.0.1:{port}"]
        + ["--workers", str(workers), "--log-level", "warning"],
        cwd=ROOT,
        env=env,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited with status {server.returncode}; see its output above")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/healthz", headers={"X-Forwarded-Proto": "https"})
            if connection.getresponse().status == 200:
                return server, f"http://127.0.0.1:{port}"
        except OSError:
            pass
        time.sleep(0.2)
    stop(server)
    raise RuntimeError(f"gunicorn did not answer /healthz on port {port} within 60 s")


def stop(server: subprocess.Popen) -> None:
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def deployed_env(static_root: Path) -> dict:
    """The settings of a production deployment behind a TLS proxy, with static files collected."""
    env = {
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1",
        "BEHIND_TLS_PROXY": "1",
        "CONN_MAX_AGE": "600",
        "STATIC_ROOT": str(static_root),
        "STUDY_ENTRY_RATE_LIMIT": "1000000",  # every simulated annotator comes from 127.0.0.1
    }
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=ROOT,
        env={**os.environ, **env},
        check=True,
    )
    return env


def cpu_seconds(pids: set[int], children_of: int | None = None) -> dict[int, float]:
    """CPU seconds (user + system) used so far by each of these processes and of the children of `children_of`."""
    used = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended meanwhile
            continue
        pid = int(stat.parent.name)
        if pid in pids or int(fields[1]) == children_of:
            used[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return used


def cpu_used_since(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds between two snapshots; a process that appeared in between counts from zero."""
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


def database_backends() -> set[int]:
    """Process ids of the PostgreSQL backends serving this database, other than our own connection."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return {pid for (pid,) in cursor.fetchall()}


def measure(base_url: str, study, n: int, think: float, server_pid: int) -> dict:
    annotators = [
        Annotator(
            base_url=base_url,
            entry_path=f"/s/{study.entry_token}/",
            pid=f"BENCH{study.pk}x{i:04d}",
            headers={"X-Forwarded-Proto": "https"},
            think=think,
            seed=i,
        )
        for i in range(n)
    ]
    server_cpu = cpu_seconds({server_pid}, children_of=server_pid)
    database_cpu = cpu_seconds(database_backends())
    client_cpu = time.process_time()
    wall, errors = run_annotators(annotators)
    client_cpu = time.process_time() - client_cpu
    if errors:
        raise RuntimeError(f"{len(errors)} annotator(s) failed; the first: {errors[0]!r}")
    server_cpu = cpu_used_since(server_cpu, cpu_seconds({server_pid}, children_of=server_pid))
    # Backends that closed during the run are missed: gunicorn keeps its connections (CONN_MAX_AGE).
    database_cpu = cpu_used_since(database_cpu, cpu_seconds(database_backends()))
    requests = sum(a.requests for a in annotators)
    stored, lost, unexpected = compare_with_database(study.pk, annotators)
    pages = [t for a in annotators for t in a.latencies["item page"]]
    submits = [t for a in annotators for t in a.latencies["rating submit"]]
    return {
        "n": n,
        "page_p50": percentile(pages, 50) * 1000,
        "page_p95": percentile(pages, 95) * 1000,
        "submit_p50": percentile(submits, 50) * 1000,
        "submit_p95": percentile(submits, 95) * 1000,
        "items_per_s": len(submits) / wall,
        "ratings_per_s": stored / wall,
        "stored": stored,
        "expected": sum(len(v) for a in annotators for v in a.submitted.values()),
        "lost": lost,
        "unexpected": unexpected,
        "completed": sum(a.final_path.endswith("/done/") for a in annotators),
        "wall": wall,
        "requests": requests,
        "server_ms": server_cpu / requests * 1000,
        "database_ms": database_cpu / requests * 1000,
        "client_ms": client_cpu / requests * 1000,
    }


def print_table(title: str, results: list[dict]) -> None:
    print(f"\n{title}")
    print(
        f"{'N':>4} {'item page p50/p95 ms':>21} {'submit p50/p95 ms':>19} {'items/s':>8} {'ratings/s':>10} "
        f"{'stored':>7} {'lost':>5} {'dup/extra':>9} {'done':>5} {'CPU ms/request: web + db (client)':>34}"
    )
    for r in results:
        print(
            f"{r['n']:>4} {r['page_p50']:>10.1f} /{r['page_p95']:>8.1f} {r['submit_p50']:>9.1f} /{r['submit_p95']:>7.1f} "
            f"{r['items_per_s']:>8.1f} {r['ratings_per_s']:>10.1f} {r['stored']:>7} {r['lost']:>5} "
            f"{r['unexpected']:>9} {r['completed']:>5} {r['server_ms']:>17.1f} + {r['database_ms']:.1f} ({r['client_ms']:.1f})"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "cqa")
    parser.add_argument("--levels", default="10,50,100", help="numbers of simultaneous annotators")
    # The views are CPU-bound (a few short queries each): one worker per core plus one to cover database waits.
    # Measured on 2 cores at N=50, no think time: 3 workers 112.6 ratings/s, 5 workers 100.6, 8 workers 101.3.
    parser.add_argument("--workers", type=int, default=(os.cpu_count() or 1) + 1)
    parser.add_argument(
        "--think",
        default="5,0",
        help="seconds each annotator pauses on every page, one run per value (0: as fast as the server answers); "
        "people take 20-60 s per item, so 5 s is a crowd six or more times the size",
    )
    args = parser.parse_args()

    database_url = os.environ.get("DATABASE_URL", "")
    if not database_url.startswith(("postgres://", "postgresql://")):
        print(
            "Set DATABASE_URL to a PostgreSQL database, e.g. postgres://postgres@127.0.0.1:5432/distill",
            file=sys.stderr,
        )
        return 2
    if not (args.data / "cqa_validation.jsonl").exists():
        print(
            f"No CQA data at {args.data}: pass --data <folder with cqa_validation.jsonl and the outputs>",
            file=sys.stderr,
        )
        return 2
    setup_django(database_url)
    levels = [int(n) for n in args.levels.split(",")]
    thinks = [float(t) for t in args.think.split(",")]
    dataset = bench_dataset(args.data)
    stamp = time.strftime("%H:%M:%S")
    studies = {
        (think, n): make_bench_study(args.data, dataset, f"bench N={n} think={think:g} {stamp}")
        for think in thinks
        for n in levels
    }

    with tempfile.TemporaryDirectory() as static_root:
        server, base_url = start_gunicorn(workers=args.workers, env=deployed_env(Path(static_root)))
        try:
            load_before = os.getloadavg()[0]
            results = {
                key: measure(base_url, study, key[1], key[0], server.pid) for key, study in studies.items()
            }
            load_after = os.getloadavg()[0]
        finally:
            stop(server)

    print(
        f"\nStudy load: gunicorn {args.workers} sync workers, DEBUG off, PostgreSQL, {os.cpu_count()} CPUs "
        f"(load average {load_before:.1f} before, {load_after:.1f} after); 13 pages per annotator "
        "(12 items + 1 attention check), 5 scales each; latency seen by the client"
    )
    for think in thinks:
        pace = (
            f"each annotator pauses {think:g} s on every page"
            if think
            else "no pause: as fast as the server answers"
        )
        print_table(f"Think time {think:g} s ({pace})", [results[(think, n)] for n in levels])
    failed = [
        r
        for r in results.values()
        if r["lost"] or r["unexpected"] or r["stored"] != r["expected"] or r["completed"] != r["n"]
    ]
    if failed:
        print("FAILED: ratings were lost, duplicated or left unfinished", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
