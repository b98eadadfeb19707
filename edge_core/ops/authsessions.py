"""Authentication sessions for apps that capture frames themselves (issue 27; SentinelID's start, frames, finish).

An app starts a session for an enrolled person and is told the challenges to
ask of them; it sends the frames it captures, at the frame rate it declared
(the frames are the session's clock, as a video file's are, so sending them
faster or slower changes nothing); each answer says the prompt the person is
at. ``finish`` is the decision: the very liveness session, risk bands and
verify rule (threshold in force, lockout, audit) of a camera verify in the
window, through :func:`edge_core.ops.identities.verify`. A session whose
frames never pass the liveness session is never live and matches nobody.

The session runs in a thread of the admin API's process, fed from a queue;
the vault is open only while a request runs (the bands are read at the start).
Sessions are few (:data:`MOST`), bounded in frames, and dropped when idle.
"""

from __future__ import annotations

import os
import queue
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from edge_core.errors import FaceSealError, UsageError
from edge_core.ops.identities import Probe, Source, admit, liveness_bands, verify
from edge_core.ops.results import AuthProgress, AuthStarted, Decision
from edge_core.vault.store import Vault

MOST = 4
"""Sessions at once: each holds a model pipeline and a thread."""
IDLE_S = 60.0
"""A session nobody sent frames to for this long is dropped."""
MOST_FRAMES = 900
"""Frames in one session: a minute at 15 frames a second."""
FPS_RANGE = (5.0, 60.0)
SEED_VARIABLE = "FACESEAL_LIVENESS_SEED"
"""Fixes the challenges, for the test suite only: honoured with FACESEAL_TEST_RUN=1 in the server's environment."""
_END = object()


class UnknownSession(UsageError):
    """No such session (never started, finished, or dropped when idle)."""


@dataclass
class _Session:
    name: str
    pack: str
    threshold: float
    challenges: tuple
    feed: queue.Queue = field(default_factory=lambda: queue.Queue(maxsize=64))
    prompt: str = ""
    step: int = 0
    steps: int = 0
    sent: int = 0
    seen: int = 0
    result: object | None = None
    failure: BaseException | None = None
    touched: float = field(default_factory=time.monotonic)
    changed: threading.Condition = field(default_factory=threading.Condition)
    thread: threading.Thread | None = None

    def frames(self) -> Iterator:
        while True:
            frame = self.feed.get()
            if frame is _END:
                return
            yield frame

    def heard(self, progress) -> None:
        with self.changed:
            self.prompt, self.step, self.steps = progress.prompt, progress.step, progress.steps
            self.seen += 1
            self.changed.notify_all()


def _test_seed() -> int | None:
    if os.environ.get("FACESEAL_TEST_RUN") != "1" or SEED_VARIABLE not in os.environ:
        return None
    return int(os.environ[SEED_VARIABLE])


class AuthSessions:
    """The sessions of one admin API process."""

    def __init__(self) -> None:
        self._sessions: dict[str, _Session] = {}
        self._lock = threading.Lock()

    def start(self, vault: Vault, name: str, fps: float) -> AuthStarted:
        """A session for ``name`` (enrolled, not locked out): its id and the challenges to ask, in order."""
        from edge_core.biometrics import load_pack  # models load only for a session (issue 28)
        from edge_core.liveness.challenges import Timeline, draw_sequence
        from edge_core.liveness.session import run_session

        if not FPS_RANGE[0] <= fps <= FPS_RANGE[1]:
            raise UsageError(f"a session's frame rate is {FPS_RANGE[0]:g} to {FPS_RANGE[1]:g} frames a second")
        admit(vault, name)
        pack = next(i.pack for i in vault.list_identities() if i.name == name)
        pipeline = load_pack(pack)
        seed = _test_seed()
        session = _Session(name, pack, pipeline.threshold, draw_sequence(seed))
        bands = liveness_bands(vault)
        with self._lock:
            self._drop_idle()
            if len(self._sessions) >= MOST:
                raise FaceSealError(f"{MOST} authentication sessions are already running; finish one first")
            key = secrets.token_urlsafe(18)
            self._sessions[key] = session

        def run() -> None:
            try:
                session.result = run_session(pipeline, session.frames(), session.challenges, Timeline(fps),
                                             on_progress=session.heard, bands=bands, seed=seed)
            except BaseException as error:  # said at finish, never lost in the thread
                session.failure = error
            with session.changed:
                session.changed.notify_all()

        session.thread = threading.Thread(target=run, daemon=True, name="faceseal-auth-session")
        session.thread.start()
        return AuthStarted(key, [c.code for c in session.challenges], fps, IDLE_S)

    def add(self, key: str, images: list) -> AuthProgress:
        """Feed frames (decoded images, in order) and say where the person is once the session has seen them."""
        from edge_core.biometrics import Frame

        session = self._get(key)
        if session.sent + len(images) > MOST_FRAMES:
            raise UsageError(f"a session takes at most {MOST_FRAMES} frames; finish it")
        for image in images:
            if session.result is not None or session.failure is not None:
                break  # decided already (refused early): later frames change nothing
            session.sent += 1
            session.feed.put(Frame(f"frame {session.sent}", image))
        with session.changed:
            session.changed.wait_for(lambda: session.seen >= session.sent or session.result is not None
                                     or session.failure is not None, timeout=30)
        session.touched = time.monotonic()
        return AuthProgress(session.prompt, session.step, session.steps, session.sent,
                            session.result is not None or session.failure is not None)

    def finish(self, vault: Vault, key: str) -> Decision:
        """The decision on the frames sent: the liveness session must have passed; audited as a verification."""
        with self._lock:
            session = self._sessions.pop(key, None)
        if session is None:
            raise UnknownSession("no such authentication session (finished, dropped after a minute idle, or never "
                                 "started)")
        session.feed.put(_END)
        assert session.thread is not None
        session.thread.join(timeout=60)
        if session.failure is not None:
            raise session.failure
        if session.result is None:
            raise FaceSealError("the authentication session did not come to an end; start another")
        probe = Probe(Source.CAMERA, session.pack, session.threshold, liveness=session.result)
        return verify(vault, session.name, probe)

    def _get(self, key: str) -> _Session:
        with self._lock:
            self._drop_idle()
            session = self._sessions.get(key)
        if session is None:
            raise UnknownSession("no such authentication session (finished, dropped after a minute idle, or never "
                                 "started)")
        return session

    def _drop_idle(self) -> None:
        now = time.monotonic()
        for key in [k for k, s in self._sessions.items() if now - s.touched > IDLE_S]:
            self._sessions.pop(key).feed.put(_END)
