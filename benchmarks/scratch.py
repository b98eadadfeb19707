"""A throw-away models folder for one benchmark run, so installing packs never touches the user's."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared"
"""../shared beside the repository: the models and photos the benchmarks read."""


def in_scratch_models(name: str, measure: Callable[[Path], dict[str, Any]], *needs: str,
                      restore: tuple[str, ...] = ()) -> dict[str, Any]:
    """Run ``measure(scratch)`` with FACESEAL_MODELS (and XDG_STATE_HOME, where vaults keep their rollback anchors)
    in a temporary folder (skipped when a ``needs`` folder of ../shared is absent); they and the ``restore``
    variables are put back afterwards."""
    missing = [part for part in needs if not (SHARED / part).is_dir()]
    if missing:
        print(f"{name}: skipped, {SHARED.resolve()} is absent")
        return {"skipped": f"{SHARED.resolve()} is absent"}
    saved = {variable: os.environ.get(variable) for variable in ("FACESEAL_MODELS", "XDG_STATE_HOME", *restore)}
    with tempfile.TemporaryDirectory(prefix=f"faceseal-{name}-") as scratch:
        os.environ["FACESEAL_MODELS"] = str(Path(scratch) / "models")
        os.environ["XDG_STATE_HOME"] = str(Path(scratch) / "state")
        try:
            return measure(Path(scratch))
        finally:
            for variable, value in saved.items():
                if value is None:
                    os.environ.pop(variable, None)
                else:
                    os.environ[variable] = value
