"""Schemathesis run as an outside client runs it: the ``st`` command against an API's own served document.

Both HTTP APIs (the admin API, the operator's collector) are fuzzed this way in
``make test``: positive and negative data, every phase (examples, coverage,
fuzzing, stateful), every check, a fixed seed and a bounded number of examples
per operation. ``FACESEAL_FUZZ_SEED`` and ``FACESEAL_FUZZ_EXAMPLES`` change
the seed and the count for a longer run by hand (docs/APP.md).

Each API's configuration names the statuses its checks accept, with the reason
next to them; nothing else is relaxed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

SEED = int(os.environ.get("FACESEAL_FUZZ_SEED", "20261206"))
EXAMPLES = int(os.environ.get("FACESEAL_FUZZ_EXAMPLES", "8"))
PHASES = "examples,coverage,fuzzing,stateful"


@dataclass
class Exchange:
    """One request the fuzzer made and the status it got."""

    method: str
    url: str
    status: int
    body: str
    request_body: str = ""


@dataclass
class FuzzRun:
    returncode: int
    output: str
    exchanges: list[Exchange]

    def explain(self) -> str:
        """What to show when the run failed: its last lines, where schemathesis states each failure."""
        return "\n".join(self.output.splitlines()[-120:])


def _toml(checks: dict[str, list[str]]) -> str:
    return "".join(f"[checks.{name}]\nexpected-statuses = {json.dumps(statuses)}\n\n"
                   for name, statuses in checks.items())


def schemathesis(document: str, folder: Path, *, checks: dict[str, list[str]], headers: dict[str, str] | None = None,
                 hooks: Path | None = None, env: dict[str, str] | None = None, config: str = "") -> FuzzRun:
    """Run ``st run`` on ``document`` (a URL) with every phase and check; return its outcome and every exchange.

    ``config``: more of schemathesis.toml (dictionaries of real names, say).
    """
    folder.mkdir(parents=True, exist_ok=True)
    settings = folder / "schemathesis.toml"
    settings.write_text(config + "\n" + _toml(checks))
    har = folder / "exchanges.har"
    command = [str(Path(sys.executable).with_name("st")), "--config-file", str(settings), "--no-color", "run", document,
               "--phases", PHASES, "--mode", "all", "--checks", "all", "--seed", str(SEED),
               "--max-examples", str(EXAMPLES), "--workers", "1", "--generation-database", "none",
               "--suppress-health-check", "all", "--request-timeout", "120", "--output-truncate", "true",
               "--report", "har", "--report-har-path", str(har)]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    environment = {**os.environ, **(env or {})}
    if hooks is not None:
        environment["SCHEMATHESIS_HOOKS"] = str(hooks)
    done = subprocess.run(command, capture_output=True, text=True, env=environment, cwd=folder, timeout=1800)
    entries = json.loads(har.read_text())["log"]["entries"] if har.exists() else []
    exchanges = [Exchange(e["request"]["method"], e["request"]["url"], e["response"]["status"],
                          e["response"].get("content", {}).get("text", ""),
                          e["request"].get("postData", {}).get("text", "")) for e in entries]
    return FuzzRun(done.returncode, done.stdout + done.stderr, exchanges)
