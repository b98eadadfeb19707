"""The leak scanner that checks every batch the suite produces must itself catch leaks."""

from __future__ import annotations

import json

from .leakscan import find_leaks

CLEAN = {
    "events": [{"kind": "app_started", "latency_ms": 3}],
    "public_key": "A" * 44,
    "signature": "B" * 88,
}


def test_clean_lines_pass_and_each_kind_of_leak_is_caught() -> None:
    assert find_leaks([json.dumps(CLEAN)], ["Alice"]) == []
    leaky = [
        {**CLEAN, "note": "alice example"},
        {**CLEAN, "events": [{"latency_ms": 0.5}]},
        {**CLEAN, "events": [{"v": [1, 2, 3]}]},
        {**CLEAN, "events": [{"blob": "x" * 64}]},
    ]
    assert all(find_leaks([json.dumps(line)], ["Alice Example"]) for line in leaky)
