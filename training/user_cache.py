"""Where the library keeps its caches (converted models, teacher responses) unless the caller chooses."""

import os
from pathlib import Path

CACHE_DIR_ENV = "DISTILL_CACHE_DIR"


def default_cache_dir() -> Path:
    """$DISTILL_CACHE_DIR, else $XDG_CACHE_HOME/distill-study, else ~/.cache/distill-study."""
    if os.environ.get(CACHE_DIR_ENV):
        return Path(os.environ[CACHE_DIR_ENV])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "distill-study"
