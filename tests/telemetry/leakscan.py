"""Scan telemetry envelopes for anything biometric or identifying.

Independent of the event guard on purpose: it knows nothing about the
vocabulary and looks at the bytes that would leave the machine. A leak is a
forbidden string (an identity name or id a test used) anywhere in a line, any
float, any list of numbers (an embedding), or any long string outside the two
base64 fields (an encoded blob).
"""

from __future__ import annotations

import json
from collections.abc import Iterable

_BASE64_FIELDS = {"public_key", "signature"}
_MAX_PLAIN_STRING = 40


def _walk(value: object, key: str, path: str, leaks: list[str]) -> None:
    if isinstance(value, float):
        leaks.append(f"{path}: a float")
    elif isinstance(value, dict):
        for k, v in value.items():
            _walk(v, k, f"{path}.{k}", leaks)
    elif isinstance(value, list):
        if value and all(isinstance(item, (int, float)) for item in value):
            leaks.append(f"{path}: a numeric array")
        for index, item in enumerate(value):
            _walk(item, key, f"{path}[{index}]", leaks)
    elif isinstance(value, str) and key not in _BASE64_FIELDS and len(value) > _MAX_PLAIN_STRING:
        leaks.append(f"{path}: a long string")


def find_leaks(lines: Iterable[str], forbidden: Iterable[str]) -> list[str]:
    """Every leak found in the JSON ``lines``; an empty list means clean."""
    needles = [needle.lower() for needle in forbidden if needle]
    leaks: list[str] = []
    for number, line in enumerate(lines):
        lowered = line.lower()
        leaks += [f"line {number}: contains a forbidden string" for n in needles if n in lowered]
        _walk(json.loads(line), "", f"line {number}", leaks)
    return leaks
