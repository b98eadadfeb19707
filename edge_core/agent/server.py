"""``faceseal agent``: one per user, the only process that decrypts templates for sign-in.

It keeps the models loaded and opens the vault for each attempt only (the keys
are dropped between attempts, so a lock, a stolen-laptop scenario or a rotation
in the window finds no key held here). Every connection's peer is checked by
the kernel's credentials: the agent's own user, or root asking on behalf of
exactly this user (PAM inside sudo or su); anyone else is refused and audited.
One attempt at a time: a second caller is told the camera is busy.

The attempt's rules are :mod:`edge_core.ops.signin`'s (and :mod:`edge_core.ops.apps`'s);
this module only captures the face and carries the words between the camera and
the PAM conversation. Apps may also ask on the D-Bus session bus
(:mod:`.sessionbus`): the same :func:`answer`, another door.
"""

from __future__ import annotations

import collections
import contextlib
import os
import pwd
import signal
import socket
import socketserver
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edge_core import ops
from edge_core.agent import origin, rundir, sessionbus, wire
from edge_core.biometrics import Camera, Frame, VideoFile, collect_samples, load_pack
from edge_core.biometrics.errors import CameraUnavailable
from edge_core.errors import FaceSealError, UsageError
from edge_core.liveness import Progress
from edge_core.liveness.check import check_liveness
from edge_core.ops import Probe, Source
from edge_core.ops import apps
from edge_core.ops import signin as use_case
from edge_core.ops.results import Result
from edge_core.ops.retention import now as retention_now

if TYPE_CHECKING:
    from edge_core.vault.store import Vault

SAMPLES = 3
"""Frames a sign-in matches when the policy asks for no liveness session (each must match)."""
CAMERA_FRAMES = 300
"""The most frames one attempt reads from a camera, whatever the clock says."""
CONVERSATION_LIMIT_S = 120.0
"""The longest a connection may stay open: the policy's longest sign-in timeout (60 s) and then some."""


@dataclass(frozen=True)
class CameraChoice:
    """The camera the agent opens: an index, or (in the test suite only) a video file standing in for it."""

    index: int = 0
    stand_in: Path | None = None

    def describe(self) -> str:
        return f"the video {self.stand_in.name} standing in" if self.stand_in else f"camera {self.index}"

    def open(self) -> Camera | VideoFile:
        return VideoFile(self.stand_in) if self.stand_in else Camera(self.index, max_frames=CAMERA_FRAMES)


def _until(frames: Iterable[Frame], deadline: float) -> Iterator[Frame]:
    """The frames up to ``deadline`` (monotonic seconds): an attempt that takes too long ends as a failure."""
    for frame in frames:
        if time.monotonic() > deadline:
            return
        yield frame


class Agent:
    def __init__(self, home: Path, camera: CameraChoice, clock: Callable[[], datetime] = retention_now) -> None:
        self.home = home
        self.camera = camera
        self.clock = clock
        """The time a retention sweep goes by (the tests give their own; never anything from outside the process)."""
        self.uid = os.getuid()
        self.login = pwd.getpwuid(self.uid).pw_name
        self.started = time.time()
        self.last: dict[str, Any] | None = None
        self.asking: dict[str, str] | None = None
        """While an app's attempt runs: which app asks and why (the window and ``agent status`` show it)."""
        self._attempt_lock = threading.Lock()
        self.dbus = "not on D-Bus"
        """Whether the agent also answers on the session bus (:mod:`.sessionbus`), or why not."""
        self.refused: collections.Counter[int] = collections.Counter()
        """Connections refused since the agent started, by the peer's uid."""
        self._counting = threading.Lock()

    def status(self) -> dict[str, Any]:
        """What the agent is and last did (no score, no name of anyone but the outcome's)."""
        return {"pid": os.getpid(), "login": self.login, "uptime_s": round(time.time() - self.started),
                "busy": self._attempt_lock.locked(), "asking": self.asking, "last": self.last, "dbus": self.dbus,
                "refused": {str(uid): count for uid, count in sorted(self.refused.items())}}

    def admits(self, peer: int, root: bool) -> bool:
        """Whether the process of uid ``peer`` (as the kernel or the bus daemon says) may ask: this agent's own user,
        and root when ``root`` (PAM asking on behalf of this user). Anyone else is told nothing; the refusal is
        counted in the status and written to the audit log the first time that uid knocks while the agent runs (a
        flood of them must not open the vault and grow the log once per connection)."""
        if peer == self.uid or (root and peer == 0):
            return True
        with self._counting:
            self.refused[peer] += 1
            first = self.refused[peer] == 1
        if first:
            with contextlib.suppress(FaceSealError, OSError), ops.open_vault(self.home) as vault:
                use_case.record_refused_peer(vault, peer)
        return False

    def signin(self, message: dict[str, Any], tell: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
        """One attempt for the PAM service in ``message``; the answer is the decision (or why there is none).
        ``tell`` carries what the caller hears before it: how long to wait (``wait``), the prompts (``say``)."""
        if message.get("user") != self.login:
            raise UsageError("this agent signs in only its own user")
        fields = {key: message.get(key, "") for key in ("service", "tty", "rhost", "origin")}
        if not all(isinstance(value, str) and len(value) <= 256 for value in fields.values()):
            raise UsageError("a sign-in request names its service, terminal, remote host and origin as short strings")
        request = use_case.SignInRequest(**fields)
        return self._attempt(request.service, tell, Attempt(
            admit=lambda vault: use_case.admit_signin(vault, request),
            camera=lambda vault, frames, pixel_format, camera: use_case.camera_frames(
                vault, request, frames, pixel_format, camera),
            decide=lambda vault, name, probe: use_case.decide_signin(vault, request, name, probe),
            failed=lambda vault, error: use_case.capture_failed(vault, request, error)))

    def authenticate(self, message: dict[str, Any], tell: Callable[[dict[str, Any]], None],
                     caller: str = "", origin: str = "") -> dict[str, Any]:
        """An app asks whether this login's owner is at the screen: an attempt under ``apps``; the answer carries the
        signed assertion when it is accepted. The caller first hears who asked and why, before the camera opens;
        ``caller`` is the asking process as the transport knows it (its pid and program), shown and audited beside
        the name the app gives itself (which is only its word); ``origin``, why that process looks started from an
        SSH session."""
        request = apps.app_request(message.get("audience"), message.get("nonce"), message.get("reason"), caller,
                                   origin)
        return self._attempt(apps_service(request), tell, Attempt(
            asking={"app": request.audience, "reason": request.reason, "caller": request.caller},
            admit=lambda vault: apps.admit_app(vault, request),
            camera=lambda vault, frames, pixel_format, camera: apps.camera_frames(
                vault, request, frames, pixel_format, camera),
            decide=lambda vault, name, probe: apps.decide_app(vault, request, name, probe),
            failed=lambda vault, error: apps.failed(vault, request, error),
            announce=f"FaceSeal: {request.audience} asks to check it is you ({request.reason})"))

    def _attempt(self, label: str, tell: Callable[[dict[str, Any]], None], attempt: Attempt) -> dict[str, Any]:
        """One attempt at a time: run ``attempt`` and remember how it ended for the status."""
        if not self._attempt_lock.acquire(blocking=False):
            return {"accepted": False, "busy": True, "why": "another face sign-in is in progress"}
        last = {"at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "service": label, "accepted": False}
        self.asking = attempt.asking
        try:
            decision = self._attempt_once(attempt, tell)
            last["accepted"] = decision.accepted
            return decision.as_dict()
        except FaceSealError as error:
            last["why"] = str(error)  # refused, or the camera failed: said in the status too
            raise
        finally:
            self.last, self.asking = last, None
            self._attempt_lock.release()

    def sweep(self, vault: Vault) -> None:
        """Crypto-shred whoever's retention ended (``ops.sweep_retention``), each time the agent opens the vault: it
        may be the only FaceSeal process running for weeks. A sweep that fails is said on stderr (the agent's log)
        and does not stop the attempt: the next open tries again."""
        try:
            swept = ops.sweep_retention(vault, self.clock())
        except FaceSealError as error:
            print(f"faceseal agent: the retention sweep failed: {error}", file=sys.stderr, flush=True)
            return
        for line in ([f"retention ended: {len(swept.deleted)} deleted (audited)"] if swept.deleted else []) + \
                swept.warnings:
            print(f"faceseal agent: {line}", file=sys.stderr, flush=True)

    def sweep_at_start(self) -> None:
        """The sweep once when the agent starts, if there is a vault (starting never creates one)."""
        if ops.vault_exists(self.home):
            with contextlib.suppress(FaceSealError, OSError), ops.open_vault(self.home) as vault:
                self.sweep(vault)

    def _attempt_once(self, attempt: Attempt, tell: Callable[[dict[str, Any]], None]) -> Result:
        with ops.open_vault(self.home) as vault:
            self.sweep(vault)
            name = attempt.admit(vault)
            tell = _told(tell)
            try:
                if attempt.announce:
                    tell({"say": attempt.announce})
                timeout = use_case.signin_timeout(vault)
                deadline = time.monotonic() + timeout
                tell({"wait": timeout})  # the caller (the PAM helper) waits this long, and not longer
                pack = next(i.pack for i in ops.list_identities(vault) if i.name == name)
                try:
                    pipeline = load_pack(pack)
                    capture = self.camera.open()
                except CameraUnavailable:
                    raise attempt.failed(vault, CameraUnavailable(
                        f"the agent found no camera ({self.camera.describe()}); connect one, or start the agent on "
                        "another with 'faceseal agent run --camera CAMERA' (or choose it in Settings)")) from None
                except FaceSealError as error:
                    raise attempt.failed(vault, error) from None
                frames = attempt.camera(vault, _until(capture, deadline), capture.pixel_format,
                                        self.camera.describe())
                if ops.liveness_needed(vault, Source.CAMERA):
                    video = isinstance(capture, VideoFile)  # the test suite's stand-in: its frames are its clock
                    result = check_liveness(pipeline, frames, video=video, fps=capture.fps if video else None,
                                            bands=ops.liveness_bands(vault), on_progress=_prompts(tell),
                                            models=ops.liveness_models(vault))
                    probe = Probe(Source.CAMERA, pack, pipeline.threshold, liveness=result)
                else:
                    samples = collect_samples(pipeline, frames, samples=SAMPLES)
                    probe = Probe(Source.CAMERA, pack, pipeline.threshold, samples.embeddings)
                return attempt.decide(vault, name, probe)
            except CallerGone as error:  # cancelled at the prompt: still one audited attempt, never a silent one
                raise attempt.failed(vault, error) from None


@dataclass(frozen=True)
class Attempt:
    """The use cases one kind of attempt runs (a PAM sign-in, an app's request): admit before the camera, accept the
    camera, decide on the face, record an attempt that ended without a decision; and what the caller hears first."""

    admit: Callable[[Any], str]  # each takes the vault opened for this attempt
    camera: Callable[[Any, Iterable[Frame], str, str], Iterable[Frame]]  # the frames, held to the camera rule
    decide: Callable[[Any, str, Probe], Result]
    failed: Callable[[Any, Exception], Exception]
    announce: str = ""
    asking: dict[str, str] | None = None


def apps_service(request: apps.AppRequest) -> str:
    """How an app's attempt is named in the agent's status: the service and the app."""
    return f"{use_case.APPS}:{request.audience}"


class CallerGone(FaceSealError):
    """The caller (the PAM helper, a trial) hung up before the decision: the attempt ends, audited as failed."""


def _told(tell: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    """``tell``, with a caller that went away said as :class:`CallerGone` (the socket's error would end the attempt
    as an internal error, unaudited: a person at the lock screen could try a face and cancel without a trace)."""

    def said(message: dict[str, Any]) -> None:
        try:
            tell(message)
        except OSError:
            raise CallerGone("the caller went away before the decision (cancelled at the prompt?)") from None

    return said


def _prompts(tell: Callable[[dict[str, Any]], None]) -> Callable[[Progress], None]:
    """Each new prompt of the session once (a session reports every frame; the terminal wants each step once)."""
    said: list[str] = []

    def show(progress: Progress) -> None:
        if not said or said[-1] != progress.prompt:
            said.append(progress.prompt)
            tell({"say": f"FaceSeal: {progress.prompt}"})

    return show


def answer(agent: Agent, message: dict[str, Any], tell: Callable[[dict[str, Any]], None],
           caller: str = "", pid: int = 0) -> dict[str, Any]:
    """The agent's answer to one request, whichever front end carried it (the socket, the session bus): the
    decision's fields, or ``error`` and ``kind`` for a refusal; never a traceback. ``pid``: the asking process as
    the kernel or the bus daemon identified it (0: unknown), where an app's request was started from is read
    (a PAM sign-in brings that fact from its root helper instead)."""
    try:
        if message.get("op") == "status":
            return {"status": agent.status()}
        if message.get("op") == "signin":
            return agent.signin(message, tell)
        if message.get("op") == "authenticate":
            return agent.authenticate(message, tell, caller, origin.remote_origin(pid) if pid else "")
        raise UsageError("the agent knows three requests: status, signin and authenticate")
    except FaceSealError as error:
        return {"accepted": False, "error": str(error), "kind": type(error).__name__}
    except Exception as error:  # the kind of failure only
        return {"accepted": False, "error": f"unexpected internal error ({type(error).__name__})",
                "kind": "InternalError"}


class _Handler(socketserver.StreamRequestHandler):
    server: _Server

    def handle(self) -> None:
        agent = self.server.agent
        sock: socket.socket = self.request
        sock.settimeout(CONVERSATION_LIMIT_S)
        pid, peer = wire.peer_credentials(sock)
        if not agent.admits(peer, root=True):
            return
        caller = wire.describe_process(pid) + " over the agent's socket" if pid else "the agent's socket"
        try:
            message = wire.Reader(sock).receive()
            wire.send(sock, {"done": True, **answer(agent, message, lambda said: wire.send(sock, said), caller,
                                                    pid)})
        except (OSError, wire.WireError):
            return  # the caller went away or spoke nonsense: nothing to answer


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

    def __init__(self, path: Path, agent: Agent) -> None:
        self.agent = agent
        super().__init__(str(path), _Handler)


def serve(home: Path, camera: CameraChoice, ready: Callable[[Path, str], None] = lambda path, bus: None) -> None:
    """Listen until SIGTERM or SIGINT, on the socket and (when there is a session bus) as ``org.faceseal.Agent`` on
    it; refuses to start beside an agent that already answers. ``ready`` hears the socket and where the bus stands."""
    folder = rundir.prepare(rundir.socket_path().parent)
    path = folder / rundir.SOCKET
    _clear_stale(path)
    agent = Agent(home, camera)
    agent.sweep_at_start()
    old = os.umask(0o177)
    try:
        server = _Server(path, agent)
    finally:
        os.umask(old)
    try:
        bus: sessionbus.SessionBus | None = sessionbus.SessionBus(
            lambda message, tell, caller, pid: answer(agent, message, tell, caller, pid),
            lambda uid: agent.admits(uid, root=False))  # root too is refused: PAM asks over the socket
        agent.dbus = f"on the session bus as {sessionbus.NAME}"
    except sessionbus.BusUnavailable as error:
        bus, agent.dbus = None, f"not on D-Bus: {error}"
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
    thread.start()
    ready(path, agent.dbus)
    try:
        stop.wait()
    finally:
        if bus is not None:
            bus.close()
        server.shutdown()
        server.server_close()
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _clear_stale(path: Path) -> None:
    """A socket left by an agent that died is removed; one that still answers means an agent runs already."""
    if not (path.exists() or path.is_symlink()):
        return
    rundir.check_socket(path, os.getuid())
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        try:
            probe.connect(str(path))
        except ConnectionRefusedError:
            path.unlink()
            return
    raise UsageError(f"a FaceSeal agent already runs for this user ({path})")
