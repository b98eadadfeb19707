"""onnxruntime sessions made one way, and model bytes checked before any session sees them.

Why a module of its own: every model of every pack goes through the same three
steps (read the bytes once, check their sha256, build one session from those very
bytes), so a file swapped between the check and the load cannot slip through, and
the thread settings are decided in exactly one place.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from edge_core.biometrics.errors import ModelIntegrityError, ModelRuntimeError, PackNotInstalled

if TYPE_CHECKING:
    import onnxruntime as ort

# onnxruntime >= 1.2x writes a device id and a telemetry database under
# ~/.cache/Microsoft unless this is set before it is first imported; a privacy
# product must not leave such a trace (insightface sets the same variable).
# onnxruntime and OpenCV themselves are imported by the functions that run a
# model (issue 28): a command that runs none (status, list, the policy, the
# audit log) does not pay the half second their import takes.
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

_CHUNK = 1 << 20


@cache
def engine_error_types() -> tuple[type[BaseException], ...]:
    """Every exception type onnxruntime's native layer raises (they share no base but Exception), plus OpenCV's,
    so inference failures become one typed error."""
    import cv2
    from onnxruntime.capi import onnxruntime_pybind11_state as ort_state

    return tuple(value for value in vars(ort_state).values()
                 if isinstance(value, type) and issubclass(value, Exception)) + (cv2.error,)


def inference_threads() -> int:
    """Threads for one inference: all cores up to 4.

    One frame is processed at a time, so the cores are best spent inside each
    operator (intra-op); more than 4 threads buys nothing for models this small
    and only steals time from the UI thread.
    """
    return max(1, min(os.cpu_count() or 1, 4))


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, streamed so a large model never sits in memory twice."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_verified(path: Path, sha256: str, size: int, *, pack: str) -> bytes:
    """Read a model file and return its bytes only if they hash to ``sha256``.

    The caller builds its session from the returned bytes, not from the path, so
    what was checked is exactly what runs. The file is opened without blocking,
    must be a regular file, and is read to one byte past its pinned ``size`` at
    most: a FIFO swapped in by someone who can write the models folder cannot
    hang the loader (the sign-in agent among them), nor a huge or sparse file
    exhaust its memory (fourth outside round).
    """
    reinstall = f"run 'faceseal models install {pack}'"
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise PackNotInstalled(f"model file {path.name} of pack '{pack}' is missing; {reinstall}") from None
    except OSError as error:
        raise PackNotInstalled(f"model file {path.name} of pack '{pack}' cannot be read ({error.strerror}); "
                               f"{reinstall}") from None
    with os.fdopen(fd, "rb") as file:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise PackNotInstalled(f"model file {path.name} of pack '{pack}' is not a regular file; {reinstall}")
        try:
            data = file.read(size + 1)
        except OSError as error:
            raise PackNotInstalled(f"model file {path.name} of pack '{pack}' cannot be read ({error.strerror}); "
                                   f"{reinstall}") from None
    if len(data) != size or hashlib.sha256(data).hexdigest() != sha256:
        raise ModelIntegrityError(
            f"model file {path.name} of pack '{pack}' is corrupted or was replaced "
            f"(sha256 mismatch); reinstall it with 'faceseal models install {pack}'"
        )
    return data


def create_session(model: bytes, *, name: str, pack: str) -> ort.InferenceSession:
    """One CPU session of a pack's model with :func:`session_options`; a refusal is a one-line ModelRuntimeError."""
    import onnxruntime as ort

    with engine_errors(name, pack):
        return ort.InferenceSession(model, session_options(), providers=["CPUExecutionProvider"])


def session_options() -> ort.SessionOptions:
    """Deliberate threading for every session FaceSeal makes: intra-op = ``inference_threads()``, inter-op 1.

    Sequential execution because these graphs are chains: parallel branches would
    only add scheduling overhead. Spinning is off because a pack runs two sessions
    one after the other: the idle one's spinning threads would steal the cores
    from the busy one (measured: detect + embed took twice the sum of the parts).
    Denormals are flushed to zero (see below). Warnings are silenced (severity 3) because a person cannot act on them; real
    failures still raise.
    """
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = inference_threads()
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    # Denormal floats are flushed to zero: the FacePlugin recognizer's activations fall into
    # that range and the CPU's slow path made it 4.5x slower (180 ms against 40 ms measured
    # on a loaded machine); at 1e-38 they change no embedding (test_reference.py).
    options.add_session_config_entry("session.set_denormal_as_zero", "1")
    return options


@contextlib.contextmanager
def engine_errors(name: str, pack: str) -> Iterator[None]:
    """Turn an onnxruntime/OpenCV failure of model ``name`` into a one-line ModelRuntimeError."""
    try:
        yield
    except engine_error_types() as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ModelRuntimeError(
            f"model {name} of pack '{pack}' could not be run ({first_line[:160]}); "
            f"reinstall it with 'faceseal models install {pack}'"
        ) from None


@contextlib.contextmanager
def quiet_opencv() -> Iterator[None]:
    """Silence OpenCV's native warnings (printed to stderr, not raised) for the duration.

    OpenCV 5 warns that its new DNN engine ignores target selection, and
    videoio warns when a camera index is absent; neither means anything to a
    person, and the absent camera gets its own clear error.
    """
    import cv2

    previous = cv2.utils.logging.getLogLevel()
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
    try:
        yield
    finally:
        cv2.utils.logging.setLogLevel(previous)
