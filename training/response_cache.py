"""Teacher responses cached on disk, keyed by a hash of the teacher, its decoding and the exact prompt.

The caller chooses the folder (the CLI: the user cache dir; the web app: a folder under ARTIFACTS_DIR). Each
teacher gets one append-only JSONL file named by the hash of its description, read whole when opened. The
generation puts each response as it arrives (`put`, one write, flushed), before its record is handed on, so a
killed run loses only the requests still in flight; several threads and processes may append to the same
file. A line cut short by a crash is skipped on reading.
"""

import hashlib
import json
import logging
import threading
from dataclasses import asdict, dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

RESPONSE_CACHE_FOLDER = (
    "teacher_responses"  # the cache's folder under whichever root the caller keeps caches in
)


def _digest(value) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()


def cache_key(teacher: dict, prompt: str, identity: tuple[str, ...] = ()) -> str:
    """The key of one output: teacher description (backend, model, decoding), rendered prompt, identity."""
    return _digest({"teacher": teacher, "prompt": prompt, "identity": list(identity)})


@dataclass(frozen=True)
class CachedResponse:
    text: str
    prompt_tokens: int
    completion_tokens: int
    created_at: str


class ResponseCache:
    def __init__(self, folder: str | Path, teacher: dict):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        name = _digest(teacher)[:16]
        self.path = self.folder / f"{name}.jsonl"
        about = self.folder / f"{name}.teacher.json"
        if not about.exists():
            about.write_text(json.dumps(teacher, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        self._entries: dict[str, CachedResponse] = {}
        self._lock = threading.Lock()  # answers arrive on the teacher's threads
        self._load()

    def _load(self) -> None:
        if not self.path.exists():
            return
        skipped = 0
        with open(self.path, encoding="utf-8") as handle:
            for line in handle:
                try:
                    entry = json.loads(line)
                    key = entry.pop("key")
                    self._entries[key] = CachedResponse(**entry)
                except (json.JSONDecodeError, KeyError, TypeError):
                    skipped += 1
        if skipped:
            logger.warning("skipped %d unreadable line(s) in %s (cut short by a crash?)", skipped, self.path)

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: str) -> CachedResponse | None:
        return self._entries.get(key)

    def put(self, key: str, entry: CachedResponse) -> None:
        self.put_many({key: entry})

    def put_many(self, entries: dict[str, CachedResponse]) -> None:
        if not entries:
            return
        lines = "".join(
            json.dumps({"key": key, **asdict(entry)}, ensure_ascii=False) + "\n"
            for key, entry in entries.items()
        )
        with self._lock, open(self.path, "a+b") as handle:
            handle.seek(0, 2)
            if handle.tell():
                handle.seek(-1, 2)
                if handle.read(1) != b"\n":  # a crash cut the last line short: start on a fresh one
                    lines = "\n" + lines
            handle.write(lines.encode("utf-8"))  # one write: appends from several processes do not interleave
            handle.flush()
            self._entries.update(entries)
