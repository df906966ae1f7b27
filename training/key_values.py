"""Settings given by name: `NAME=VALUE` pairs from a command line (a value that reads as JSON, such as 5, 0.1, true
or [1, 2], is that value; any other is the word itself), and the check that every name is a setting."""

import json
from collections.abc import Collection, Mapping
from dataclasses import fields


def parse_key_values(pairs: list[str], flag: str) -> dict:
    values = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"{flag} expects NAME=VALUE, got {pair!r}")
        try:
            values[key] = json.loads(raw)
        except json.JSONDecodeError:
            values[key] = raw
    return values


def check_setting_names(
    settings_class: type, values: Mapping, *, what: str, exclude: Collection[str] = ()
) -> None:
    """Refuse names in `values` that are not fields of the dataclass `settings_class` (less `exclude`)."""
    known = {f.name for f in fields(settings_class)} - set(exclude)
    unknown = sorted(set(values) - known)
    if unknown:
        raise ValueError(f"unknown {what}(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
