"""Issue 28: a ``faceseal`` command that runs no model does not import onnxruntime or OpenCV (about half a second of
every start on this machine), whatever front-end module it goes through; one that runs a model still can. Nor does
a command import what only other commands use: zxcvbn's word lists (a recovery kit's passphrase) and the sign-in
agent's server (``agent run``), a tenth of a second of CPU together.

Each check runs in a fresh interpreter, as ``faceseal`` does: the launcher's ``main`` runs the commands one after
the other, and the modules loaded by then are read from ``sys.modules`` (no timing is asserted)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.conftest import REPO, enrol

HEAVY = ("onnxruntime", "cv2")
ELSEWHERE = ("zxcvbn", "edge_core.agent.server", "edge_core.ops.calibrate")
"""Imported by the commands that score a kit passphrase, run the agent or calibrate, and by no other."""

CHILD = """
import contextlib, io, json, sys
from app.launcher import main

def run(argv):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        try:
            return main(argv)
        except SystemExit as done:  # --version prints and exits, as argparse's own actions do
            return done.code or 0

codes = {" ".join(argv): run(argv) for argv in json.loads(sys.argv[1])}
watched = json.loads(sys.argv[2])
before = [name for name in watched if name in sys.modules]
# the control, that this check sees them: what a liveness session imports, and what a model's run asks of the runtime;
# what a kit passphrase's check and a command that asks the agent (none runs here: it says so) bring
import edge_core.liveness.session
from edge_core.biometrics.runtime import engine_error_types
engine_error_types()
from edge_core import ops
from edge_core.errors import UsageError
with contextlib.suppress(UsageError):  # refused or not, it was scored
    ops.check_kit_passphrase("correct horse battery staple")
run(["agent", "status"])
import edge_core.ops.calibrate
after = [name for name in watched if name in sys.modules]
print(json.dumps({"codes": codes, "loaded": before, "loaded_afterwards": after}))
"""

NO_MODEL = [["status"], ["list"], ["policy", "show"], ["audit", "list"], ["audit", "verify"], ["signin", "status"],
            ["signin", "history"], ["models", "list"], ["threshold"], ["telemetry", "status"], ["lock"], ["unlock"],
            ["subject-report", "alice"], ["--version"], ["--help"], ["agent", "run", "--help"]]


def _child(commands: list[list[str]]) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    result = subprocess.run([sys.executable, "-c", CHILD, json.dumps(commands), json.dumps(HEAVY + ELSEWHERE)],
                            capture_output=True, text=True, cwd=REPO, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


def test_commands_that_run_no_model_load_neither_onnxruntime_nor_opencv(people):
    enrol(people)
    seen = _child(NO_MODEL)
    assert all(code == 0 for code in seen["codes"].values()), seen["codes"]
    assert seen["loaded"] == [], f"{seen['loaded']} loaded by: {', '.join(seen['codes'])}"
    assert seen["loaded_afterwards"] == list(HEAVY + ELSEWHERE), "a model's run, a kit passphrase, the agent, calibration bring them"
