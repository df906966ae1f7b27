"""How numbers are written in result lines."""

from __future__ import annotations

import math


def p_text(p: float, name: str = "p") -> str:
    if math.isnan(p):
        return f"{name} = n/a"
    return f"{name} < 0.001" if p < 0.001 else f"{name} = {p:.3f}"


def number(x: float, digits: int = 2) -> str:
    return "n/a" if math.isnan(x) else f"{x:.{digits}f}"


def outcome_phrase(outcome: str) -> str:
    """'on completeness', 'on quality': one wording for any scale name a study defines."""
    return f"on {outcome}"
