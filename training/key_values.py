"""`NAME=VALUE` settings given on a command line: a value that reads as JSON (5, 0.1, true, [1, 2]) is that value,
any other is the word itself."""

import json


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
