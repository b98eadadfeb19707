"""Apps ask whether their owner is at the screen, live, now: the rules, once, for the sign-in agent (issue 27).

An app's request is a sign-in under the service ``apps``, which a person opts
in like any PAM service (``faceseal signin enable apps --name NAME``): refused
before the camera otherwise, and judged by the very same rule at the same
sign-in threshold, liveness and lockout (:func:`edge_core.ops.signin.decide_signin`,
audited as a ``signin`` for ``apps``). Only an accepted attempt gets an
assertion signed by the device key (:mod:`edge_core.audit.assertion`), and its
issue is one more audit event naming the app and the reason it gave.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from edge_core.audit import assertion
from edge_core.audit import chain as audit
from edge_core.biometrics import Frame
from edge_core.errors import UsageError
from edge_core.ops import signin
from edge_core.ops.identities import Probe
from edge_core.ops.results import AppAnswer
from edge_core.vault import device
from edge_core.vault.store import Vault

MAX_REASON = 200


@dataclass(frozen=True)
class AppRequest:
    """Which app asks (its name, as the assertion's audience), its fresh nonce, and why, in its words."""

    audience: str
    nonce: str
    reason: str
    caller: str = ""
    """The asking process as the transport identified it (pid and program), or empty: shown and audited."""
    origin: str = ""
    """Why the asking process looks started from an SSH session (:mod:`edge_core.agent.origin`), or empty: an app
    run over SSH is as far from the desk as ``su`` typed there, and is refused by the same rule."""

    @property
    def as_signin(self) -> signin.SignInRequest:
        return signin.SignInRequest(service=signin.APPS, origin=self.origin)


def app_request(audience: object, nonce: object, reason: object, caller: str = "", origin: str = "") -> AppRequest:
    """A request as an app sent it, checked: a name, a nonce and a short printable reason, or one clear refusal.
    ``caller`` and ``origin`` are the front end's word on which process asked and where it was started from (never
    the app's)."""
    if not isinstance(reason, str) or not 0 < len(reason) <= MAX_REASON or not reason.isprintable():
        raise UsageError(f"an app says why it asks in 1 to {MAX_REASON} printable characters")
    return AppRequest(assertion.check_audience(audience), assertion.check_nonce(nonce), reason,
                      "".join(c if c.isprintable() else "?" for c in caller)[:MAX_REASON], origin)


def admit_app(vault: Vault, request: AppRequest) -> str:
    """Before the camera opens: the enrolled name this login signs in as, or a refusal (audited, not counted)."""
    return signin.admit_signin(vault, request.as_signin)


def camera_frames(vault: Vault, request: AppRequest, frames: Iterable[Frame], pixel_format: str,
                  camera: str) -> Iterator[Frame]:
    """The camera rule of a sign-in (``require_ir``), for ``apps``."""
    return signin.camera_frames(vault, request.as_signin, frames, pixel_format, camera)


def decide_app(vault: Vault, request: AppRequest, name: str, probe: Probe) -> AppAnswer:
    """The sign-in decision for ``apps``; when it accepts, the assertion the app verifies offline (audited)."""
    decision = signin.decide_signin(vault, request.as_signin, name, probe)
    if not decision.accepted:
        return AppAnswer(False, why=decision.why)
    subject, now = vault.identity_id(name), int(time.time())
    token = assertion.issue(device.device_key(vault), subject, request.audience, request.nonce,
                            decision.band or "not_checked", now)
    with vault.writing() as tx:
        audit.append(tx, "app_assertion", identity=subject, audience=request.audience, reason=request.reason,
                     caller=request.caller, expires=now + assertion.LIFETIME_S)
    return AppAnswer(True, token, now + assertion.LIFETIME_S)


def failed(vault: Vault, request: AppRequest, error: Exception) -> Exception:
    """The attempt was admitted but ended without a decision: audited as sign-in's are."""
    return signin.capture_failed(vault, request.as_signin, error)
