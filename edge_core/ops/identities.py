"""The people in the vault: enrol, verify, identify, list, delete, and the match threshold.

Every rule of a match attempt is decided here, once, for the CLI, the window
and the admin API:

* the threshold: the one chosen for the pack (or its measured default), or one
  the caller names; either must lie within the policy's bounds;
* the lockout: a locked-out identity (verify) or a locked-out identification
  (identify, one counter per vault) is refused before anything is matched,
  and every attempt counts, a failed liveness check included;
* liveness: a face from a camera needs a passed liveness session while the
  policy requires one; a caller may ask for one on a video file too; a photo or
  an embedding can never be live; only a camera can be. A session passes only
  with a risk in the policy's low band (``liveness_bands``), whatever bands
  the front end ran it with (``liveness.enforce``);
* audit: every attempt is one ``verification`` or ``identification`` event,
  with identity ids (never names), the outcome, the source and the liveness
  (its risk band, whether it stepped up, and why it failed in plain words);
  a stored template found unreadable is left out of the match and audited
  once (``template_unreadable``);
* the score: given on a match only; a no-match's score would let someone
  improve a forged probe step by step, so it is shown only when a caller asks
  for it as a diagnostic (``show_score``), and that is audited
  (``diagnostic: true``);
* telemetry: one operational event, only while telemetry is on.

A front end captures the face (:class:`Probe`), calls these, and renders the
:class:`~edge_core.ops.results.Decision`.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from edge_core.audit import certificate as certify
from edge_core.audit import chain as audit
from edge_core.biometrics.errors import MultipleFaces
from edge_core.errors import IdentityExists, LookAlikeEnrolled, PolicyViolation, UnknownIdentity, UsageError
from edge_core.liveness import LivenessResult, RiskBands, enforce
from edge_core.ops import consent as consents
from edge_core.ops import packs, privacy, signin_choice
from edge_core.ops.keyops import rotate
from edge_core.ops.presence import needs_presence
from edge_core.ops.privacy import CertificateRequest
from edge_core.ops.results import (
    ConsentTerms,
    Decision,
    Deletion,
    Enrolment,
    FaceMatch,
    IdentitySummary,
    SamplePlan,
    ThresholdReport,
)
from edge_core.policy import lockout, thresholds
from edge_core.policy import rules as policy
from edge_core.telemetry.events import Operation
from edge_core.telemetry.recording import recorded
from edge_core.vault.embeddings import normalise
from edge_core.vault.matching import MatchResult, Unreadable, resemblance
from edge_core.vault.store import Vault, canonical_name

if TYPE_CHECKING:
    from edge_core.liveness.passive import AttackModel

EXTERNAL_PACK = thresholds.EXTERNAL_PACK
"""The pack name of embeddings made outside FaceSeal (``--embedding``)."""
EXTERNAL_THRESHOLD = thresholds.EXTERNAL_THRESHOLD
default_threshold = thresholds.default_for
pack_names = thresholds.pack_names
TEMPLATE_CAP = 10
"""Templates kept per person: re-enrolling adds samples up to it; beyond it the most redundant samples go
(:func:`most_redundant`), earlier or new. Beyond a handful, more samples of the same person add little under
the mean-of-top-two rule and slow identify."""


class Source(enum.Enum):
    """Where a face came from: it decides whether liveness can run, and whether the answer can be live."""

    EMBEDDING = "embedding"
    PHOTO = "photo"
    VIDEO = "video"
    CAMERA = "camera"

    @property
    def moving(self) -> bool:
        """Whether a liveness session can run on it (a camera, or a video file)."""
        return self in (Source.CAMERA, Source.VIDEO)


@dataclass(frozen=True)
class Probe:
    """A face a front end captured, ready to enrol or match.

    ``embeddings`` is (k, d): every sample to enrol, or the probe in its first
    row (the largest face of a photo). ``faces`` holds every face of a photo
    with its box: identify matches each, verify refuses more than one unless
    ``largest``. ``liveness`` is the outcome of the session that produced the
    face, when one ran (its start face is then the probe).
    """

    source: Source
    pack: str
    default_threshold: float
    embeddings: np.ndarray | None = None
    faces: tuple[tuple[list[float], np.ndarray], ...] = ()
    liveness: LivenessResult | None = None
    largest: bool = False
    """The person chose to match the largest of several faces (verify refuses several faces otherwise)."""

    @property
    def vector(self) -> np.ndarray:
        if self.liveness is not None and self.liveness.embedding is not None:
            return self.liveness.embedding
        if self.embeddings is None or not len(self.embeddings):
            raise UsageError("no face to match was captured")
        return self.embeddings[0]


def _connection(vault: Vault, *args: Any, **kwargs: Any) -> Any:
    return vault.open_connection


# ------------------------------------------------------------------ the rules
def threshold_in_force(vault: Vault, pack: str, default: float, chosen: float | None = None) -> float:
    """The threshold of a match: ``chosen``, else the pack's chosen one, else its default; within the policy."""
    if chosen is not None and not -1.0 <= chosen <= 1.0:
        raise UsageError("a threshold is a cosine similarity between -1 and 1")
    value = thresholds.in_force(vault, pack, default) if chosen is None else float(chosen)
    policy.check_threshold(vault, value)
    return value


def liveness_needed(vault: Vault, source: Source, requested: bool = False) -> bool:
    """Whether a match from ``source`` must run a liveness session first (asked for, or the policy's rule)."""
    if requested and not source.moving:
        raise UsageError("a liveness check needs a moving picture: a camera or a video file")
    return requested or (source is Source.CAMERA and policy.liveness_required(vault))


def liveness_bands(vault: Vault) -> RiskBands:
    """The policy's liveness risk bands, for a front end to run its session with (``check_liveness(bands=)``)."""
    return RiskBands(*policy.liveness_bands(vault))


def liveness_models(vault: Vault) -> tuple[AttackModel, ...]:
    """The attack models a liveness session weighs, fresh for one session: the trained anti-spoof model when the
    policy turns it on (``liveness_attack_model``), else none. Its file is sha256-checked when it is loaded; a
    missing one is a one-line PackNotInstalled naming ``scripts/attack_model.py --install``."""
    return liveness_model_maker(vault)()


def liveness_model_maker(vault: Vault) -> Callable[[], tuple[AttackModel, ...]]:
    """What makes :func:`liveness_models` afresh for each of many sessions or judged recordings (``pad-eval``):
    the policy is read and the model loaded (and checked) now, so the vault need not stay open while they run."""
    if not policy.liveness_attack_model(vault):
        return tuple
    from edge_core.liveness.attack import POLICY_MODEL, TrackedAntiSpoof, attack_model_specs, load_net

    net = load_net(attack_model_specs()[POLICY_MODEL])
    return lambda: (TrackedAntiSpoof(net),)


def _held_to_policy(vault: Vault, probe: Probe) -> Probe:
    """The probe with its liveness result judged by the policy's bands (a pass above the low band is refused)."""
    if probe.liveness is None:
        return probe
    return replace(probe, liveness=enforce(probe.liveness, liveness_bands(vault)))


def admit(vault: Vault, name: str | None) -> str:
    """Before anything is captured: the identity exists and is not locked out (identify: not locked out).

    Returns the lockout subject (the identity's random id, or ``lockout.IDENTIFY``).
    """
    subject = lockout.IDENTIFY if name is None else vault.identity_id(name)
    lockout.check(vault, subject)
    return subject


def _check_liveness_rule(vault: Vault, probe: Probe, requested: bool) -> None:
    if liveness_needed(vault, probe.source, requested) and probe.liveness is None:
        raise PolicyViolation(
            "matching a face from a camera needs a liveness check (the policy requires it; "
            "'faceseal policy set liveness_required=false' lifts that)" if not requested else
            "a liveness check was asked for, but no liveness session ran"
        )


def _audit(vault: Vault, kind: str, probe: Probe, live: bool, show_score: bool = False,
           unreadable: tuple[Unreadable, ...] = (), **detail: Any) -> None:
    liveness = probe.liveness
    detail.update(live=live, source=probe.source.value,
                  liveness="not_checked" if liveness is None else "passed" if liveness.passed else "failed")
    if liveness is not None:
        detail.update(risk=round(liveness.risk, 3), band=liveness.band, stepped_up=liveness.stepped_up)
        if liveness.refusal is not None:
            detail.update(refusal=liveness.refusal.code, why=liveness.reason)
    if show_score:
        detail["diagnostic"] = True
    with vault.writing() as tx:
        vault.record_unreadable(tx, unreadable)
        audit.append(tx, kind, **detail)


def _shown(score: float, match: bool, show_score: bool) -> float | None:
    """The score a caller sees: on a match, or when a diagnostic asked for it; never on a plain no-match."""
    return score if match or show_score else None


def _is_live(probe: Probe) -> bool:
    return probe.source is Source.CAMERA and probe.liveness is not None and probe.liveness.passed


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a person's name (the rule enrolment applies), or None: for a front end to say it as
    the name is typed, before anything is captured."""
    try:
        canonical_name(name)
    except UsageError as error:
        return str(error)
    return None


def most_redundant(vectors: np.ndarray, keep: int) -> list[int]:
    """The rows of ``vectors`` to drop so that the ``keep`` most varied samples are left.

    Every sample offered has passed the quality gates (and a capture keeps the
    best of each stretch), so diversity decides: one by one, the sample most
    like another one goes (the highest similarity to its nearest neighbour;
    of such a pair, the one more like all the others). Ten near-copies of one
    moment of a video thus give way before three photos taken on other days.
    """
    unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    similarity = unit @ unit.T
    np.fill_diagonal(similarity, np.nan)
    left = list(range(len(vectors)))
    dropped: list[int] = []
    while len(left) > max(keep, 0):
        among = similarity[np.ix_(left, left)]
        worst = max(range(len(left)), key=lambda i: (np.nanmax(among[i]) if len(left) > 1 else 0.0,
                                                       np.nanmean(among[i]) if len(left) > 1 else 0.0))
        dropped.append(left.pop(worst))
    return dropped


def plan_samples(vault: Vault | None, name: str, adding: int, add: bool = False) -> SamplePlan:
    """Before a capture: how many samples ``name`` has, and how many of those and the ``adding`` new ones will go.

    A person keeps at most ``TEMPLATE_CAP`` samples; beyond it the most
    redundant go (:func:`most_redundant`), earlier ones or new ones. A front
    end asks ``question`` before capturing when anything would be dropped.
    """
    if adding < 1:
        raise UsageError("at least one sample is needed")
    existing = 0
    if add:  # only adding needs the vault (a new person has no samples yet)
        if vault is None:  # there is no vault yet, so nobody is enrolled
            raise UnknownIdentity(f"no identity named '{canonical_name(name)}' is enrolled")
        vault.identity_id(name)  # an unknown name is refused before anything is asked
        existing = next((i.samples for i in vault.list_identities() if i.name == canonical_name(name)), 0)
    dropped = max(0, existing + adding - TEMPLATE_CAP)
    if not dropped:
        return SamplePlan(canonical_name(name), existing, adding, TEMPLATE_CAP, 0)
    who = canonical_name(name)
    if existing:
        question = (f"{who} has {existing} samples and a person keeps at most {TEMPLATE_CAP}: adding {adding} "
                    f"means {dropped} of the {existing + adding} are dropped, earlier or new, whichever are most "
                    f"like another sample (so the {TEMPLATE_CAP} kept are the most varied). Add them anyway?")
    else:
        question = (f"A person keeps at most {TEMPLATE_CAP} samples: of the {adding} taken, {dropped} are dropped, "
                    f"whichever are most like another sample. Go on anyway?")
    return SamplePlan(who, existing, adding, TEMPLATE_CAP, dropped, question)


# ---------------------------------------------------------------- use cases
def _adds(vault: Vault, name: str, probe: Probe, add: bool = False, allow_look_alike: bool = False,
          consent: ConsentTerms | None = None) -> bool:
    return add


@needs_presence("add samples to someone enrolled (whoever gives them is then recognised as that person)",
                when=_adds)
@recorded(Operation.ENROL, _connection)
def enrol(vault: Vault, name: str, probe: Probe, add: bool = False, allow_look_alike: bool = False,
          consent: ConsentTerms | None = None) -> Enrolment:
    """Seal each sample of ``probe`` as its own template of ``name`` (``add``: to one already enrolled).

    ``consent``: the terms (:func:`.consent.terms`) the person was shown and accepted. Someone new, or someone
    whose consent was never recorded, is refused without them (:func:`.consent.check`); their consent is recorded
    in the enrolment's own transaction. Adding samples to someone who consented needs none.

    A look-alike is refused (:func:`look_alike`): when the samples would match
    someone else already enrolled at the threshold in force, nothing is sealed
    and :class:`LookAlikeEnrolled` names that person, unless the enroller
    accepts it (``allow_look_alike``), which the enrolment's audit event then
    records (``look_alike``: the other identity's id).

    A person keeps at most ``TEMPLATE_CAP`` templates: beyond it, the most
    redundant of the earlier and new samples are dropped (:func:`most_redundant`;
    :func:`plan_samples` says how many beforehand), never simply the oldest.
    """
    if probe.embeddings is None:
        raise UsageError("no samples to enrol were captured")
    plan_samples(vault, name, len(probe.embeddings), add)
    who = canonical_name(name)
    if not add and who in vault.identity_names().values():  # said before any look-alike: it is the first problem
        raise IdentityExists(f"'{who}' is already enrolled; use --add to add samples, or delete it first")
    given = consents.check(vault, name, consent, add)
    other = look_alike(vault, name, probe, add)
    if other is not None and not allow_look_alike:
        raise LookAlikeEnrolled(
            f"{who} looks like {other}, who is already enrolled: the vault could take one for the other, so nothing "
            f"was enrolled. Check that these samples show {who}; if {who} and {other} are two different people, "
            f"they can be enrolled anyway, and that is recorded in the audit log", other)
    chosen: list[int] = []
    offered = [0]

    def choose(vectors: np.ndarray, keep: int) -> list[int]:
        offered[0] = len(vectors)
        chosen.extend(most_redundant(vectors, keep))
        return chosen

    accepted = {} if other is None else {"look_alike": vault.identity_id(other)}
    sealed = vault.enroll(name, probe.embeddings, probe.pack, add=add, keep=TEMPLATE_CAP, choose=choose,
                          then=None if given is None else consents.recorder(name, given), **accepted)
    packs.pin_stand_in(vault, probe.pack)
    earlier = offered[0] - sealed  # the readable earlier samples come first, the new ones after them
    new_dropped = sum(index >= earlier for index in chosen)
    kept = Enrolment(who, sealed - new_dropped, probe.pack, dropped=len(chosen) - new_dropped)
    if other is None:
        return kept
    return replace(kept, resembles=other,
                   warning=f"{other}, already enrolled, looks like {who}: the vault may take one for the other "
                           f"(accepted as asked; recorded in the audit log)")


def look_alike(vault: Vault, name: str, probe: Probe, add: bool = False) -> str | None:
    """Someone other than ``name`` already enrolled whom these samples would be taken for, or who would be taken
    for them once enrolled: the closest such person, or None.

    The rule is the match rule itself, at the threshold in force for the
    probe's pack: a pair that resembles each other at least as much as a
    verify needs is a pair the vault would confuse (``matching.resemblance``:
    both directions, the highest over the samples). No margin below the
    threshold is added: the threshold is the point chosen for the pack's
    false-match rate, and a stricter one here would refuse people the vault
    tells apart at that rate (docs/BIOMETRICS.md, "Look-alikes at enrolment").
    Photos of the previous person enrolled under the next name, or one person
    enrolled twice, are caught the same way. ``add``: the samples join the
    person's kept ones, and the two are checked together.
    """
    threshold = threshold_in_force(vault, probe.pack, probe.default_threshold)
    samples = normalise(probe.embeddings)
    gallery = vault.gallery(probe.pack, samples.shape[1])
    who = canonical_name(name)
    own = [rows for person, rows in gallery.templates() if person == who and add]
    template = np.vstack([*own, samples])
    try:
        scores = {person: resemblance(rows, template, samples) for person, rows in gallery.templates()
                  if person != who}
    finally:
        template.fill(0)  # a copy of the person's kept templates: overwritten, like the gallery it came from
    closest = max(scores, key=scores.__getitem__, default=None)
    return closest if closest is not None and scores[closest] >= threshold else None


@recorded(Operation.VERIFY, _connection)
def verify(vault: Vault, name: str, probe: Probe, threshold: float | None = None,
           liveness_requested: bool = False, show_score: bool = False) -> Decision:
    """Is this ``name``? Threshold bounds, lockout, one face, liveness, audit and telemetry, in that order.

    A photo of several people is refused (which of them claims to be ``name``?), as enrolment refuses it,
    unless the caller chose the largest face (``probe.largest``); checking every face would give an impostor
    one chance per face. A refusal matches nothing and is not counted.

    The score is in the decision on a match only, unless ``show_score`` (an audited diagnostic).
    """
    chosen = threshold_in_force(vault, probe.pack, probe.default_threshold, threshold)
    subject = admit(vault, name)
    if len(probe.faces) > 1 and not probe.largest:
        raise MultipleFaces(f"{len(probe.faces)} faces found in the photo: verify needs a photo of one person "
                            f"(identify names every face of a group photo); nothing was matched")
    _check_liveness_rule(vault, probe, liveness_requested)
    probe = _held_to_policy(vault, probe)
    if probe.liveness is not None and (not probe.liveness.passed or probe.liveness.embedding is None):
        lockout.record(vault, subject, matched=False)
        _audit(vault, "verification", probe, False, show_score, identity=subject, match=False)
        return Decision(name, None, chosen, False, probe.pack, False, probe.liveness)
    result = vault.verify(name, probe.vector, probe.pack, chosen)
    live = _is_live(probe)
    lockout.record(vault, subject, result.match)
    _audit(vault, "verification", probe, live, show_score, result.skipped, identity=subject, match=result.match)
    return Decision(result.name or name, _shown(result.score, result.match, show_score), chosen, result.match,
                    probe.pack, live, probe.liveness, skipped=len(result.skipped) or None)


@recorded(Operation.IDENTIFY, _connection)
def identify(vault: Vault, probe: Probe, threshold: float | None = None,
             liveness_requested: bool = False, show_score: bool = False) -> Decision:
    """Who is this? Every face of a group photo is matched on its own; the rules are those of :func:`verify`.

    The answer is the best matching face (the highest score among the faces
    that matched), or no match when none did; ``faces`` lists every face. A
    no-match names nobody (naming the closest person would let anyone list who
    is enrolled), and ``nobody_enrolled`` says when there was no one to compare
    with. An identity locked out of verify is not matched here either: its face
    is a no-match, like a stranger's. An identification fails (for the lockout)
    when no face matched anyone.
    """
    chosen = threshold_in_force(vault, probe.pack, probe.default_threshold, threshold)
    admit(vault, None)
    _check_liveness_rule(vault, probe, liveness_requested)
    probe = _held_to_policy(vault, probe)
    if probe.liveness is not None and (not probe.liveness.passed or probe.liveness.embedding is None):
        lockout.record(vault, lockout.IDENTIFY, matched=False)
        _audit(vault, "identification", probe, False, show_score, match=False, faces=1)
        return Decision(None, None, chosen, False, probe.pack, False, probe.liveness)
    ids = {name: identity for identity, name in vault.identity_names().items()}
    vectors = [vector for _box, vector in probe.faces] or [probe.vector]
    found = [vault.identify(vector, probe.pack, chosen) for vector in vectors]
    locked = {r.name for r in found if r.match and lockout.locked_until(vault, ids[r.name])}
    faces = [_face(result, result.name in locked, box, show_score) for (box, _v), result in zip(probe.faces, found)]
    matched = [r for r in found if r.match and r.name not in locked]
    best = max(matched, key=lambda r: r.score, default=None)
    live = _is_live(probe)
    lockout.record(vault, lockout.IDENTIFY, best is not None)
    skipped = found[0].skipped
    refused = {"locked_out": sorted(ids[name] for name in locked)} if locked else {}
    _audit(vault, "identification", probe, live, show_score, skipped, match=best is not None,
           identities=sorted({ids[r.name] for r in matched}), faces=len(found), **refused)
    if best is None:
        closest = max((r.score for r in found if r.name not in locked), default=None)
        score = closest if show_score and closest is not None and closest > -1.0 else None
        return Decision(None, score, chosen, False, probe.pack, live, probe.liveness, faces or None,
                        skipped=len(skipped) or None, nobody_enrolled=all(r.name is None for r in found) or None)
    return Decision(best.name, best.score, chosen, True, probe.pack, live, probe.liveness, faces or None,
                    skipped=len(skipped) or None)


def _face(result: MatchResult, locked: bool, box: list[float], show_score: bool) -> FaceMatch:
    """One face of the photo: named on a match only; a locked-out identity's face is a no-match, its score unshown."""
    match = result.match and not locked
    score = None if locked else _shown(result.score, match, show_score)
    return FaceMatch([round(float(v), 2) for v in box], result.name if match else None,
                     None if score is None else round(score, 6), result.threshold, match, result.pack)


def list_identities(vault: Vault) -> list[IdentitySummary]:
    """Everyone enrolled, by name, with their sample count, pack and enrolment time."""
    return [IdentitySummary(i.name, i.samples, i.pack, i.created_at) for i in vault.list_identities()]


@needs_presence("delete a person")
@recorded(Operation.DELETE, _connection)
def delete_identity(vault: Vault, name: str, certificate: CertificateRequest | None = None) -> Deletion:
    """Crypto-shred one person: their identity key becomes unrecoverable everywhere (the root rotates). Face sign-in
    chosen for them is turned off (audited): no service stays enabled for a person who is not there.

    ``certificate`` asks for a signed deletion certificate (:mod:`.privacy`): a destination that cannot take it is
    refused before anything is deleted."""
    vault.identity_id(name)
    salt = privacy.prepare(certificate)
    deletion, seq, head = shred(vault, name, certify.name_commitment(name, salt) if salt else None)
    return deletion if certificate is None else privacy.certify(vault, deletion, seq, head, certificate, salt)


def shred(vault: Vault, name: str, name_commitment: str | None = None,
          cause: str | None = None) -> tuple[Deletion, int, dict[str, Any] | None]:
    """Crypto-shred ``name`` and turn off face sign-in chosen for them, without asking anything: for
    :func:`delete_identity` (asked for by hand) and the retention sweep (:mod:`.retention`, ``cause``). Returns the
    deletion, its last event's number and the head the device signed with that event (a certificate's)."""
    identity = vault.identity_id(name)
    deletion, seq = rotate.delete_identity(vault, name, name_commitment, cause)
    head = vault.signed_head  # the head signed with the deletion's last event, before any later write moves it
    signin_choice.forget(vault, identity)
    return deletion, seq, head


def _lowers_threshold(vault: Vault, pack: str, default: float, value: float | None = None,
                      clear: bool = False) -> bool:
    """Whether choosing ``value`` (or going back to the default) lowers ``pack``'s threshold in force."""
    wanted = default if clear else value
    return wanted is not None and wanted < thresholds.in_force(vault, pack, default)


@needs_presence("lower a match threshold", when=_lowers_threshold)
def threshold(vault: Vault, pack: str, default: float, value: float | None = None,
              clear: bool = False) -> ThresholdReport:
    """Show ``pack``'s threshold, or choose one (within the policy, audited), or go back to the default."""
    if value is not None and clear:
        raise UsageError("give a threshold or ask for the default, not both")
    rules = policy.load(vault)
    if value is not None:
        threshold_in_force(vault, pack, default, value)
        thresholds.choose(vault, pack, value)
    elif clear:
        thresholds.choose(vault, pack, None)
    return ThresholdReport(pack, thresholds.in_force(vault, pack, default), default, pack in thresholds.chosen(vault),
                           rules.threshold_min, rules.threshold_max)
