"""Face sign-in: which PAM services a face may unlock, for whom, and the decision of one attempt.

The agent (:mod:`edge_core.agent`) and the PAM helper are front ends as thin
as the CLI: every rule of a sign-in is decided here, once.

* **What is opted in** lives in the vault (``meta``, inside the encrypted and
  authenticated database): the enrolled identity that is this login's face,
  and the services it may unlock. A planted file cannot opt anything in.
* **Before the camera opens** (:func:`admit_signin`): a remote session (a
  remote host or an SSH terminal) is refused, as is a service not opted in,
  no identity chosen, or that identity locked out (the verify lockout: one
  counter for every way of proving to be that person). A locked vault never
  gets here: it does not open. Each refusal is one audited ``signin`` event;
  it matched nothing and is not counted, as verify does not count a refusal.
* **The camera** (:func:`camera_frames`): with the policy's ``require_ir``, a
  camera that is not IR is refused at its first colour frame.
* **The decision** (:func:`decide_signin`) is stricter than the window's
  verify: a face from the camera only, its liveness session passed within the
  policy's bands when the policy requires liveness, and every frame of the
  attempt matching at the pack's sign-in threshold (never below the verify
  threshold in force). One audited event, counted toward the lockout.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from edge_core.audit import chain as audit
from edge_core.biometrics import Frame
from edge_core.biometrics.infrared import is_infrared
from edge_core.errors import FaceSealError, PolicyViolation, UsageError
from edge_core.ops import signin_choice
from edge_core.ops.audits import audit_list
from edge_core.ops.presence import needs_presence
from edge_core.ops.identities import Probe, Source, _held_to_policy, admit, liveness_needed, threshold_in_force
from edge_core.ops.results import AuditEntry, SignInDecision, SignInSettings
from edge_core.policy import lockout, thresholds
from edge_core.policy import rules as policy
from edge_core.vault.store import Vault

APPS = "apps"
"""Not a PAM service: desktop apps asking the agent for a signed presence assertion (:mod:`edge_core.ops.apps`)."""
SERVICES = ("sudo", "su", "polkit-1", "gdm-password", "gnome-screensaver", "kde", "xscreensaver", "swaylock",
            "hyprlock", APPS)
"""What a person may opt in: the PAM services (each the name of its file in /etc/pam.d), and apps."""
RAISING = ("sudo", "polkit-1")
"""Services where the user's own program asks PAM as root: ``faceseal-pam`` leaves them to the password (any program
of the user could answer in the agent's place) unless the PAM line says ``--trust-user-agent`` (docs/SIGNIN.md)."""
RAISING_NOTE = ("{services}: the password still decides there, not the face: sudo and polkit run as root for you, and "
                "any program you run could answer in your agent's place (unless the administrator's PAM line says "
                "--trust-user-agent; docs/SIGNIN.md)")
TEST_SERVICE_PREFIX = "faceseal-test-"
"""Services of this prefix may be opted in too: the test suite's own PAM files (never installed by a package)."""
TRY_IT = "try-it-now"
"""The service name of a trial attempt ("Try it now" in the window, ``faceseal signin try``): it unlocks nothing,
needs no service opted in, and is judged, audited and counted exactly as a real sign-in."""
REMOTE_TTYS = ("ssh",)


@dataclass(frozen=True)
class SignInRequest:
    """What PAM said about an attempt: which service, for which terminal, from where; and ``origin``, why the PAM
    helper (root) saw the application as started from an SSH session (``su`` typed over SSH: no remote host, an
    ordinary terminal; :mod:`edge_core.agent.origin`), empty when nothing said so."""

    service: str
    tty: str = ""
    rhost: str = ""
    origin: str = ""

    @property
    def remote(self) -> str:
        """Why this attempt is not from the person at this computer, or ``""``."""
        if self.rhost:
            return f"the remote host {self.rhost} asks"
        if self.tty.split(":")[0] in REMOTE_TTYS:
            return "an SSH terminal asks"
        return self.origin


class SignInNotEnabled(PolicyViolation):
    """The service (or any) is not opted in: the PAM helper stays quiet about it, the password simply follows."""


def check_service(service: str) -> str:
    if service in SERVICES or (service.startswith(TEST_SERVICE_PREFIX) and service[len(TEST_SERVICE_PREFIX):]
                               .replace("-", "").isalnum()):
        return service
    raise UsageError(f"'{service}' is not a service face sign-in knows; choose from {', '.join(SERVICES)}")


def check_pam_service(service: str) -> str:
    """A service with a file in /etc/pam.d: every known one but ``apps``, which ask the agent directly."""
    if check_service(service) == APPS:
        raise UsageError("apps ask the agent on its socket, not through PAM: there is no PAM file for 'apps'")
    return service


def signin_settings(vault: Vault) -> SignInSettings:
    """Who signs in with their face (the enrolled name) and where."""
    stored = signin_choice.stored(vault)
    raising = [service for service in stored["services"] if service in RAISING]
    return SignInSettings(vault.identity_names().get(stored["identity"]), tuple(stored["services"]),
                          RAISING_NOTE.format(services=" and ".join(raising)) if raising else None)


def signin_attempts(vault: Vault, limit: int = 10) -> list[AuditEntry]:
    """The last ``limit`` sign-in attempts, newest first, as the audit log has them (refusals included)."""
    return [entry for entry in reversed(audit_list(vault)) if entry.kind == "signin"][:limit]


@needs_presence("let a face sign in")
def signin_enable(vault: Vault, service: str, name: str | None = None) -> SignInSettings:
    """Let ``name``'s face unlock ``service`` (every enabled service signs in the same person; without a name, the
    person already chosen); audited."""
    service = check_service(service)
    name = name if name is not None else signin_settings(vault).identity
    if name is None:
        raise UsageError("name the enrolled person whose face signs this login in; nobody is chosen yet")
    identity = vault.identity_id(name)
    stored = signin_choice.stored(vault)
    services = sorted(set(stored["services"]) | {service}) if stored["identity"] == identity else [service]
    with vault.writing() as tx:
        signin_choice.write(tx, identity, services)
        audit.append(tx, "signin_enabled", identity=identity, service=service)
    return signin_settings(vault)


def signin_disable(vault: Vault, service: str) -> SignInSettings:
    """Stop face sign-in for ``service`` (the password alone again); audited."""
    stored = signin_choice.stored(vault)
    if service not in stored["services"]:
        raise UsageError(f"face sign-in is not enabled for '{service}'")
    stored["services"] = [s for s in stored["services"] if s != service]
    with vault.writing() as tx:
        signin_choice.write(tx, stored["identity"], stored["services"])
        audit.append(tx, "signin_disabled", service=service)
    return signin_settings(vault)


def _refuse(vault: Vault, request: SignInRequest, error: FaceSealError, identity: str | None = None) -> FaceSealError:
    """Audit a refusal before the camera opens; returns ``error`` (itself, with every field it carries) to raise."""
    with vault.writing() as tx:
        audit.append(tx, "signin", service=request.service, tty=request.tty, outcome="refused", why=str(error),
                     identity=identity)
    return error


def admit_signin(vault: Vault, request: SignInRequest) -> str:
    """Before the camera opens: the enrolled name this attempt is for, or a refusal (audited, not counted)."""
    if request.remote:
        raise _refuse(vault, request, PolicyViolation("face sign-in is for the person at this computer, not a remote "
                                                      f"session ({request.remote})"))
    stored = signin_choice.stored(vault)
    if stored["identity"] is None:
        raise _refuse(vault, request, SignInNotEnabled("nobody is chosen for face sign-in yet ('faceseal signin "
                                                       "enable SERVICE --name NAME')"))
    if request.service != TRY_IT and request.service not in stored["services"]:
        raise _refuse(vault, request, SignInNotEnabled(f"face sign-in is not enabled for '{request.service}'"))
    name = vault.identity_names()[stored["identity"]]  # stored() names nobody once the person is deleted
    try:
        admit(vault, name)
    except FaceSealError as error:  # the lockout: said as verify says it, its end time kept for the front ends
        raise _refuse(vault, request, error, stored["identity"]) from None
    return name


def camera_frames(vault: Vault, request: SignInRequest, frames: Iterable[Frame], pixel_format: str,
                  camera: str) -> Iterator[Frame]:
    """The camera's frames, held to the policy's ``require_ir``: with it, every frame must be IR (a grey pixel
    format, or the frame itself single-channel: :func:`edge_core.biometrics.infrared.is_infrared`), and the first
    colour frame ends the attempt as a refusal (audited, not counted: no decision was made). Every frame, not only
    the first: a colour webcam often starts with black frames, whose three channels are equal."""
    if not policy.require_ir(vault):
        yield from frames
        return
    for frame in frames:
        if not is_infrared(pixel_format, frame.image):
            raise _refuse(vault, request, PolicyViolation(
                f"the policy requires an IR camera for face sign-in (require_ir), and {camera} gives colour "
                "frames; start the agent on the IR camera ('faceseal agent run --camera CAMERA')"))
        yield frame


def signin_timeout(vault: Vault) -> int:
    """How long an attempt may look for a face (the policy's ``signin_timeout_s``) before the password follows."""
    return policy.signin_timeout(vault)


def record_refused_peer(vault: Vault, uid: int) -> None:
    """Another user's process spoke to the agent: it was told nothing, and this says who knocked."""
    with vault.writing() as tx:
        audit.append(tx, "agent_refused", peer_uid=uid)


def capture_failed(vault: Vault, request: SignInRequest, error: Exception) -> Exception:
    """The attempt was admitted but ended without a decision (no camera, no model pack, or the caller hung up
    before the decision): audited as a ``signin`` that ``failed``, with why; not counted toward the lockout, since
    no face was judged. Returns ``error`` to raise."""
    with vault.writing() as tx:
        audit.append(tx, "signin", service=request.service, tty=request.tty, outcome="failed", why=str(error))
    return error


def signin_threshold(vault: Vault, pack: str, default: float) -> float:
    """The sign-in operating point: the pack's measured sign-in threshold, never below verify's in force."""
    return max(thresholds.signin_for(pack), threshold_in_force(vault, pack, default))


def decide_signin(vault: Vault, request: SignInRequest, name: str, probe: Probe) -> SignInDecision:
    """Is the enrolled person at the camera, live, now? Every frame of the attempt must match; audited, counted."""
    if probe.source is not Source.CAMERA:
        raise UsageError("face sign-in takes a face from the camera only")
    subject = admit(vault, name)
    threshold = signin_threshold(vault, probe.pack, probe.default_threshold)
    if liveness_needed(vault, probe.source) and probe.liveness is None:
        raise PolicyViolation("face sign-in from a camera needs a liveness check (the policy requires it)")
    liveness = _held_to_policy(vault, probe).liveness
    live = liveness is None or (liveness.passed and liveness.embedding is not None)
    # With liveness: the face at the start and the face after the challenges, seconds apart, each at the
    # sign-in threshold (one lucky frame is not enough); without: every sampled frame.
    frames = [] if liveness is None else [e for e in (liveness.embedding, liveness.end_embedding) if e is not None]
    frames += [] if probe.embeddings is None else list(probe.embeddings)
    results = [vault.verify(name, vector, probe.pack, threshold) for vector in frames] if live else []
    match = live and bool(results) and all(r.match for r in results)
    lockout.record(vault, subject, match)
    band = None if liveness is None else liveness.band
    with vault.writing() as tx:
        audit.append(tx, "signin", service=request.service, tty=request.tty, identity=subject,
                     outcome="accepted" if match else "rejected", frames=len(results), band=band,
                     liveness="not_checked" if liveness is None else "passed" if liveness.passed else "failed")
    why = ("" if match else liveness.reason if liveness is not None and not liveness.passed
           else "the face did not match the enrolled person")
    return SignInDecision(match, name if match else None, threshold, len(results), band, why)

