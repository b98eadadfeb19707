"""What every use case answers: typed, frozen results that the CLI, the window and the API all render.

A result never holds a secret (fingerprints are public, keys never leave
:mod:`edge_core.keys`) and never a person's embedding. ``as_dict`` is the one
JSON form: ``faceseal --json`` prints it and the admin API returns it, so the
two cannot drift. A field marked :func:`optional` is left out while it is
``None`` (a warning that does not apply, a liveness outcome when none ran); a
field marked :func:`flattened` puts its own fields beside its parent's.
"""

from __future__ import annotations

import dataclasses
import enum
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edge_core.liveness import LivenessResult

_OPTIONAL = {"optional": True}
_FLAT = {"flatten": True}
_HIDDEN = {"hidden": True}


def optional(default: Any = None) -> Any:
    """A field left out of ``as_dict`` while it is ``None``."""
    return field(default=default, metadata=_OPTIONAL)


def hidden() -> Any:
    """A field a front end uses that is no part of the JSON form (the bytes of a file it may save)."""
    return field(default=None, repr=False, metadata=_HIDDEN)


def flattened() -> Any:
    """A dataclass field whose own fields stand beside the parent's in ``as_dict``."""
    return field(metadata=_FLAT)


def plain(value: Any) -> Any:
    """``value`` as JSON-ready data (dataclasses, enums, paths, numpy scalars, liveness results)."""
    if isinstance(value, LivenessResult):  # a dataclass too, but its own form leaves out the embedding
        return value.as_dict()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out: dict[str, Any] = {}
        for f in dataclasses.fields(value):
            item = getattr(value, f.name)
            if (f.metadata.get("optional") and item is None) or f.metadata.get("hidden"):
                continue
            if f.metadata.get("flatten"):
                out.update(plain(item))
            else:
                out[f.name] = plain(item)
        return out
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, np.generic):
        return value.item()
    return value


class Result:
    """Base of every use-case result (each one a frozen dataclass)."""

    def as_dict(self) -> dict[str, Any]:
        return plain(self)


# ------------------------------------------------------------------ identities
@dataclass(frozen=True)
class Enrolment(Result):
    """``resembles``: someone else already enrolled whom these samples match, enrolled anyway as the enroller
    accepted (``ops.enrol(allow_look_alike=True)``); never a score: it would tell how close a face comes to
    another person's sealed template."""

    name: str
    samples: int
    pack: str
    status: str = "enrolled"
    resembles: str | None = optional()
    warning: str | None = optional()
    dropped: int = 0
    """How many earlier samples were dropped to keep at most the cap (``samples`` counts the new ones kept)."""


@dataclass(frozen=True)
class SamplePlan(Result):
    """What an enrolment will keep, said before anything is captured: ``dropped`` samples go (``question`` asks)."""

    name: str
    existing: int
    adding: int
    cap: int
    dropped: int
    question: str | None = optional()
    """The question to ask before going on, when samples would be dropped."""


@dataclass(frozen=True)
class ConsentTerms(Result):
    """What a person consents to before their first sample: the consent text in force (its version and sha256, as
    shipped in resources/consent), its purpose, and the retention the policy fixes into a consent given now
    (``retention_days`` None: kept until deleted). A front end shows ``text`` and ``kept_for``, and hands these terms
    back to ``ops.enrol`` as accepted."""

    version: int
    sha256: str
    purpose: str
    text: str
    retention_days: int | None
    kept_for: str
    """The retention in words, shown with the text."""

    def summary(self) -> str:
        return f"{self.text}\n\nKept: {self.kept_for}.\n(consent text version {self.version}, sha256 {self.sha256})"


@dataclass(frozen=True)
class ConsentRecord(Result):
    """A person's consent as the vault keeps it: when, to which text and purpose, until when (``expires_at`` None:
    until deleted), the audit event that recorded it, and the name commitment's salt (with it, the person can check
    that the event's commitment is to their name; it goes when they are deleted)."""

    name: str
    identity: str
    consented_at: str
    text_version: int
    text_sha256: str
    purpose: str
    retention_days: int | None
    expires_at: str | None
    audit_seq: int
    name_salt: str


@dataclass(frozen=True)
class Expiring(Result):
    """Someone whose retention ends soon: the window's reminder."""

    name: str
    expires_at: str
    days_left: int
    """Whole days left (0: less than one)."""


@dataclass(frozen=True)
class RetentionSweep(Result):
    """What one retention sweep did: the people whose retention had ended, each crypto-shredded (by name, for the
    front end that ran it; the audit log holds only their ids), and who is due within the reminder's days."""

    deleted: list[str]
    expiring: list[Expiring]
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> str:
        lines = [f"retention ended: {name} was deleted (crypto-shredded; audited)" for name in self.deleted]
        lines += [f"retention ends {e.expires_at[:10]} for {e.name} (in {e.days_left} days)" for e in self.expiring]
        return "\n".join(lines + self.warnings) or "no retention period has ended"


@dataclass(frozen=True)
class IdentitySummary(Result):
    name: str
    samples: int
    pack: str
    enrolled: str


@dataclass(frozen=True)
class FaceMatch(Result):
    """One face of a group photo and who it is: ``name`` only when it matched, ``score`` only when it matched (or
    a diagnostic asked for it)."""

    box: list[float]
    name: str | None
    score: float | None
    threshold: float
    match: bool
    pack: str


@dataclass(frozen=True)
class Decision(Result):
    """A verification or an identification: who, how close, and whether the face was shown live.

    ``score`` is given on a match only: on a no-match it is ``None`` (a score
    there would let someone improve a forged probe step by step), unless the
    caller asked for it as an audited diagnostic; it is also ``None`` when the
    liveness check failed first. ``liveness`` is the session's outcome when one
    ran; ``faces`` names every face of a group photo (identify only);
    ``skipped`` counts stored templates that could not be read (damaged) and
    were left out, absent when there were none.

    Identify's ``name`` is the best matching face's, and ``None`` on a no-match
    (the closest person is never named); ``nobody_enrolled`` is true when no one
    is enrolled with the probe's pack, so nothing was compared (absent otherwise).
    """

    name: str | None
    score: float | None
    threshold: float
    match: bool
    pack: str
    live: bool
    liveness: LivenessResult | None = optional()
    faces: list[FaceMatch] | None = optional()
    skipped: int | None = optional()
    nobody_enrolled: bool | None = optional()

    @property
    def liveness_failed(self) -> bool:
        return self.liveness is not None and not self.liveness.passed

    def as_dict(self) -> dict[str, Any]:
        out = plain(self)
        if self.score is not None:
            out["score"] = round(self.score, 6)
        return out


@dataclass(frozen=True)
class SignInSettings(Result):
    """Whose face signs this login in (an enrolled name, None when nobody was chosen) and for which services."""

    identity: str | None
    services: tuple[str, ...]
    note: str | None = optional()
    """Said when a service is chosen where the password still decides (sudo, polkit: no face raises privileges)."""


@dataclass(frozen=True)
class AppAnswer(Result):
    """An app's request: accepted with a signed assertion (and when it expires), or not, with why."""

    accepted: bool
    assertion: str | None = optional()
    expires_at: int | None = optional()
    why: str | None = optional()


@dataclass(frozen=True)
class AuthStarted(Result):
    """An app's authentication session: its id, the challenges to ask in order, the frame rate it keeps."""

    session: str
    challenges: list[str]
    fps: float
    idle_seconds: float


@dataclass(frozen=True)
class AuthProgress(Result):
    """Where the person is after the frames sent so far; ``done`` once the session decided (finish says how)."""

    prompt: str
    step: int
    steps: int
    frames: int
    done: bool


@dataclass(frozen=True)
class AssertionCheck(Result):
    """A presence assertion that holds: the identity id it names, for which app, from which device, how live."""

    subject: str
    audience: str
    device_id: str
    issued_at: int
    expires_at: int
    liveness: str
    status: str = "valid"


@dataclass(frozen=True)
class SignInDecision(Result):
    """One sign-in attempt: accepted or not, over how many frames, at which threshold; ``why`` when refused.

    No score, ever: the PAM conversation and the agent's status are read by whoever sits at the keyboard.
    """

    accepted: bool
    name: str | None
    threshold: float
    frames: int
    band: str | None = optional()
    why: str = ""


@dataclass(frozen=True)
class Deletion(Result):
    """``certificate``: the signed deletion certificate when one was asked for and not written to a file
    (``certificate_file``: where it was written)."""

    name: str
    templates_deleted: int
    root_rotated: bool
    warning: str | None = optional()
    certificate: dict[str, Any] | None = optional()
    certificate_file: str | None = optional()
    status: str = "deleted"


@dataclass(frozen=True)
class KeptCertificate(Result):
    """The certificate a deletion by retention kept, saved to ``file``."""

    identity: str
    deleted_at: str
    file: str

    def summary(self) -> str:
        return f"the deletion certificate of {self.identity} (deleted {self.deleted_at}) was written to {self.file}"


@dataclass(frozen=True)
class CertificateCheck(Result):
    """A deletion certificate that holds: which identity (its random id), when, the keys destroyed, the audit event
    and head it is, and the device key it was checked against; ``name`` only when the deleter put it on."""

    identity: str
    deleted_at: str
    keys_destroyed: dict[str, Any]
    audit_seq: int
    audit_head: str
    device_id: str
    signed_at: str
    device_key: str
    name: str | None = optional()
    status: str = "valid"


@dataclass(frozen=True)
class SubjectEvent(Result):
    """One audit event about the person: its number, time, kind and the facts it records (never a score)."""

    seq: int
    ts: str
    kind: str
    facts: dict[str, Any]


@dataclass(frozen=True)
class SubjectReport(Result):
    """What FaceSeal holds about one person, for them to read: never a template's bytes, never a score.

    ``attempts`` counts their verifications, identifications, sign-ins, app assertions and lockouts;
    ``events`` lists every audit event naming them; ``consent`` is their consent as recorded (``ConsentRecord``'s
    fields but the name and id), ``None`` for someone enrolled before FaceSeal recorded consent."""

    name: str
    identity: str
    enrolled_at: str
    pack: str
    samples: int
    sample_dates: list[str]
    consent: dict[str, Any] | None
    attempts: dict[str, int]
    events: list[SubjectEvent]
    generated_at: str
    not_included: str
    file: str | None = optional()

    def summary(self) -> str:
        """Where the report was written, or the report itself."""
        return f"the report on {self.name} was written to {self.file}" if self.file else self.as_markdown()

    def as_markdown(self) -> str:
        """The report as a person reads it (Markdown, which reads as plain text too)."""
        consent = ("consent not recorded (enrolled before FaceSeal recorded consent; adding samples asks for it)"
                   if self.consent is None else _consent_line(self.consent))
        lines = [f"# What FaceSeal holds about {self.name}", "",
                 f"Made {self.generated_at} on this device. FaceSeal knows you by the random id `{self.identity}`; "
                 "its audit log never holds your name.", "",
                 "## Your record", "",
                 f"- Enrolled: {self.enrolled_at}",
                 f"- Face samples kept: {self.samples} (model pack `{self.pack or 'none'}`), each sealed with its own "
                 "key under your identity key",
                 *[f"  - sample taken {date}" for date in self.sample_dates],
                 f"- Consent: {consent}", "",
                 "## Attempts recorded in the audit log", "",
                 *[f"- {label.replace('_', ' ')}: {count}" for label, count in self.attempts.items()], "",
                 "## Every audit event that names you", "", "| # | time (UTC) | event | facts |", "|---|---|---|---|",
                 *[f"| {e.seq} | {e.ts} | {e.kind} | {_facts(e.facts)} |" for e in self.events], "",
                 "## Not in this report", "", f"Not included: {self.not_included}.", ""]
        return "\n".join(lines)


def _consent_line(consent: dict[str, Any]) -> str:
    kept = f"until {consent['expires_at']}, then deleted" if consent.get("expires_at") else "until deleted"
    return (f"given {consent['consented_at']} to consent text version {consent['text_version']} (sha256 "
            f"`{consent['text_sha256']}`), for: {consent['purpose']}; kept {kept}; audit event {consent['audit_seq']} "
            f"records it, with a commitment to your name that the salt `{consent['name_salt']}` opens")


def _facts(facts: dict[str, Any]) -> str:
    """An event's facts on one table row: ``name=value`` (JSON values), the table's bar escaped."""
    return ", ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in sorted(facts.items())).replace("|", "\\|")


# ------------------------------------------------------------------------ keys
@dataclass(frozen=True)
class Rotation(Result):
    """What a rotation really touched: a shallow one re-wraps vault keys and no template."""

    deep: bool
    root_rotated: bool
    root_fingerprint: str
    vault_key_version: int
    vault_keys_rewrapped: int
    identity_keys_rewrapped: int
    templates_rewrapped: int
    templates_resealed: int
    rotated_at: int
    """Epoch seconds, as the seed's KEY_MANAGEMENT contract gives it."""
    rotated_at_iso: str
    status: str = "rotated"


@dataclass(frozen=True)
class Reset(Result):
    templates_deleted: int
    identities_deleted: int
    audit_events_deleted: int
    outbox_events_deleted: int
    device_key_rotated: bool
    root_key_destroyed: bool
    status: str = "deleted"


@dataclass(frozen=True)
class RootChange(Result):
    """A root replaced by import, generation or a move; the previous one is destroyed."""

    status: str
    root_store: str
    root_where: str
    root_fingerprint: str
    previous_root_fingerprint: str
    previous_root_destroyed: bool = True
    recovery_kit_exported: bool = False
    to: str | None = optional()
    token: str | None = optional()
    key_label: str | None = optional()
    pin_kept: str | None = optional()
    """After a move into a token: where its PIN is kept ("keychain", or "variable": only FACESEAL_HSM_PIN)."""
    warning: str | None = optional()


@dataclass(frozen=True)
class PassphraseRating(Result):
    """How strong a recovery kit passphrase is (zxcvbn, 0 to 4) and, when it would be refused, why."""

    strength: int
    needed: int
    min_length: int
    problem: str | None = optional()

    @property
    def acceptable(self) -> bool:
        return self.problem is None


@dataclass(frozen=True)
class KitExport(Result):
    path: str
    root_fingerprint: str
    kdf: str
    exported_at: str
    status: str = "exported"


@dataclass(frozen=True)
class KitRestore(Result):
    data_dir: str
    root_fingerprint: str
    root_store: str
    root_where: str
    was_revoked: bool
    status: str = "restored"


@dataclass(frozen=True)
class RollbackAccepted(Result):
    folder_event: int
    anchored_event: int | None
    anchor: str
    status: str = "accepted"


@dataclass(frozen=True)
class Revocation(Result):
    root_fingerprint: str
    destroyed_in: list[str]
    recovery_kit_exported: bool
    warning: str | None = optional()
    status: str = "revoked"


@dataclass(frozen=True)
class LockState(Result):
    status: str
    """"locked" or "unlocked"."""
    data_dir: str
    root_fingerprint: str | None = optional()


@dataclass(frozen=True)
class AdminPassphrase(Result):
    """Whether the vault now asks for its admin passphrase before loosening security."""

    set: bool
    changed: bool = False
    """Whether it replaced an earlier one."""

    def summary(self) -> str:
        if not self.set:
            return "admin passphrase removed: anyone at this desktop can loosen security without proof"
        return (f"admin passphrase {'changed' if self.changed else 'set'}: loosening security or destroying data "
                "now asks for it")


# ---------------------------------------------------------------------- status
@dataclass(frozen=True)
class RootKeyStatus(Result):
    """``warning``: what to know about where the root is (a file beside the data, and how to get a keychain)."""

    store: str
    where: str
    fingerprint: str
    created_at: str | None
    age_days: float | None
    warning: str | None = optional()


@dataclass(frozen=True)
class VaultKeyStatus(Result):
    version: int
    created_at: str | None
    age_days: float | None


@dataclass(frozen=True)
class PolicyState(Result):
    """``state`` is "default" (no file), "valid" or "tampered" (then ``error`` says why and ``rules`` is empty)."""

    state: str
    rules: dict[str, Any] = flattened()
    error: str | None = optional()


@dataclass(frozen=True)
class TelemetryState(Result):
    enabled: bool
    endpoint: str | None


@dataclass(frozen=True)
class Status(Result):
    data_dir: str
    root_key: RootKeyStatus
    vault_key: VaultKeyStatus
    identities: int
    templates: int
    audit_events: int
    schema_version: int
    recovery_kit_exported: bool
    recovery_kit_exported_at: str | None
    locked: bool
    rotation_due: bool | None
    policy: PolicyState
    device_id: str
    device_key: str
    """Fingerprint of the device key that signs audit evidence (``audit verify --evidence --device-key``)."""
    telemetry: TelemetryState
    thresholds: dict[str, float]
    admin_passphrase: bool
    """Whether loosening security or destroying data asks for the admin passphrase (``ops.presence``)."""
    rolled_back: str | None = optional()
    """Why this folder is older than the newest state this machine saw (reads go on, every write is refused)."""


# ----------------------------------------------------------- policy, threshold
@dataclass(frozen=True)
class PolicyReport(Result):
    path: str
    rules: dict[str, Any] = flattened()


@dataclass(frozen=True)
class PolicyChange(Result):
    status: str
    """"changed", "unchanged" or "reset"."""
    policy: dict[str, Any]
    changed: dict[str, list[Any]] | None = optional()


@dataclass(frozen=True)
class ThresholdReport(Result):
    pack: str
    threshold: float
    default: float
    chosen: bool
    low: float
    high: float


# ----------------------------------------------------------------------- audit
@dataclass(frozen=True)
class AuditCheck(Result):
    status: str
    """"intact" or "tampered"."""
    events: int
    problems: list[str] | None = optional()

    @property
    def intact(self) -> bool:
        return self.status == "intact"


@dataclass(frozen=True)
class EvidenceExport(Result):
    """``device_key`` is the fingerprint of the key that signed: note it to pin it when verifying."""

    path: str
    events: int
    head_seq: int
    device_id: str
    device_key: str
    status: str = "exported"


@dataclass(frozen=True)
class EvidenceCheck(Result):
    """``device_key`` is the fingerprint of the key the signature was checked against (``None``: no usable
    key in the file); ``device_key_pinned`` says whether the verifier named the key it expected."""

    status: str
    events: int
    head_seq: int | None
    device_id: str | None
    signed_at: str | None
    problems: list[str]
    device_key: str | None = None
    device_key_pinned: bool = False

    @property
    def intact(self) -> bool:
        return self.status == "intact"


@dataclass(frozen=True)
class AuditEntry(Result):
    """One event with, while the person still exists, the name behind an identity id."""

    seq: int
    ts: str
    kind: str
    detail: dict[str, Any] = flattened()
    person: str | None = optional()
