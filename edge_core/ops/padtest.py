"""The spoof test a person runs on their own camera (issue 31, item 3), and its signed report.

Why: the liveness figures in docs/LIVENESS.md were measured on our media; what
matters to a person is whether *their* camera, in *their* room, refuses the
attacks they can make at home. The guide (:func:`plan`) asks for a few bona
fide attempts, then each attack species a person can make with what they
have: a photo of their face on a phone screen, a printed photo, a video of
them played on a screen. Each attempt is labelled by what the guide asked for
and judged by :func:`edge_core.ops.padeval.judge`, the very path ``pad-eval
--media`` takes for a file: one command, two sources of media. The totals,
"caught by" and the suggested bands are :func:`edge_core.ops.padeval.tally`'s.

Privacy: the frames of an attempt are judged as they arrive and never written
to disk in the clear; nothing leaves the machine. Unless the person keeps
them, they are gone with the attempt. Kept recordings (``keep``) are sealed
in the vault like every secret (AES-256-GCM under the vault key of the key
hierarchy, inside the SQLCipher database; a key rotation re-wraps them, a
reset destroys them), one secret per attempt named
``pad-recording:<report id>:<n>``, each a zip of the frames as JPEG.

The report (:mod:`edge_core.audit.padreport`) is signed by the device key,
written as a new file, and one ``pad_report_made`` audit event records it: the
report's id, source, counts and SHA-256, nothing biometric.
"""

from __future__ import annotations

import hashlib
import io
import uuid
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edge_core import __version__
from edge_core.audit import chain as audit
from edge_core.audit import padreport
from edge_core.audit.evidence import parse_device_key
from edge_core.biometrics import Frame, Pipeline
from edge_core.errors import UsageError
from edge_core.liveness import RiskBands
from edge_core.ops.identities import liveness_bands, liveness_model_maker
from edge_core.ops.keyops import rotate
from edge_core.ops.presence import needs_presence
from edge_core.ops.padeval import ATTACK, BONA_FIDE, ModelMaker, PadEvaluation, PadItem, judge, tally
from edge_core.ops.results import Result, hidden, optional
from edge_core.support.database import Connection
from edge_core.support.exports import check_new_file, write_new_file
from edge_core.support.locking import key_lock
from edge_core.vault import device

if TYPE_CHECKING:
    from edge_core.vault.store import Vault

ATTEMPT_SECONDS = 4.0
"""How long an attempt records by default: long enough for a blink and a turn of the head, and for the frozen-frame
signal to judge."""
MAX_SECONDS = 30.0
CAMERA_FPS = 30.0
"""The rate assumed of a camera that declares none."""
MAX_ATTEMPTS = 10
RECORDING_PREFIX = "pad-recording:"
JPEG_QUALITY = 90


@dataclass(frozen=True)
class Step:
    """One attempt the guide asks for: its label and species (the truth the report counts) and what to show."""

    label: str
    species: str
    ask: str

    def name(self, number: int) -> str:
        """The attempt's name in the report, as a file's name would be: "bona_fide-1", "print-2"."""
        return f"{self.species or self.label}-{number}"


BONA_FIDE_STEP = Step(BONA_FIDE, "", "Look at the camera yourself, as you would to sign in: blink, turn your head "
                                     "a little.")
ATTACK_STEPS = (
    Step(ATTACK, "phone_screen", "Hold a phone showing a photo of your face in front of the camera, your face "
                                 "about the size it would be in person."),
    Step(ATTACK, "print", "Hold a printed photo of your face in front of the camera (paper, any printer)."),
    Step(ATTACK, "video_replay", "Play a video of yourself on a phone or monitor in front of the camera."),
)
"""The attacks a person can make at home, in the order the guide asks for them."""


def plan(attempts: int) -> list[Step]:
    """The guide: ``attempts`` bona fide attempts, then ``attempts`` of each attack species."""
    if not 1 <= attempts <= MAX_ATTEMPTS:
        raise UsageError(f"--attempts must be 1 to {MAX_ATTEMPTS} (each attack species and bona fide alike)")
    return [BONA_FIDE_STEP] * attempts + [step for step in ATTACK_STEPS for _ in range(attempts)]


def judging(vault: Vault | None) -> tuple[RiskBands, ModelMaker]:
    """What every attempt or file is judged with under the policy: its risk bands and the attack models it weighs
    (the defaults and none when no vault exists yet). Read once, so the vault need not be held while judging."""
    if vault is None:
        return RiskBands(), tuple
    return liveness_bands(vault), liveness_model_maker(vault)


def attempt_frames(seconds: float, fps: float | None) -> int:
    """How many frames an attempt of ``seconds`` takes at the source's rate."""
    if not 0 < seconds <= MAX_SECONDS:
        raise UsageError(f"--seconds must be above 0 and at most {MAX_SECONDS:g}")
    return max(1, round(seconds * (fps or CAMERA_FPS)))


def numbered(steps: list[Step]) -> list[tuple[Step, str]]:
    """Each step with its name in the report, numbered within its species."""
    counts: dict[str, int] = {}
    named = []
    for step in steps:
        counts[step.name(0)] = counts.get(step.name(0), 0) + 1
        named.append((step, step.name(counts[step.name(0)])))
    return named


@dataclass
class Attempt:
    """One recorded attempt: its judged item, and its frames as a zip of JPEGs when they are to be kept."""

    item: PadItem
    recording: bytes | None = field(default=None, repr=False)


def _kept(frames: Iterable[Frame], archive: zipfile.ZipFile) -> Iterator[Frame]:
    """``frames`` unchanged, each also stored in ``archive`` as a JPEG (in memory: never a plaintext file)."""
    import cv2

    for number, frame in enumerate(frames):
        ok, jpeg = cv2.imencode(".jpg", frame.image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        if ok:
            archive.writestr(f"{number:05d}.jpg", jpeg.tobytes())
        yield frame


def record(step: Step, name: str, frames: Iterable[Frame], fps: float | None, pipeline: Pipeline,
           bands: RiskBands, keep: bool = False, models: ModelMaker = tuple) -> Attempt:
    """Judge one attempt as its frames arrive (``frames``: the camera's next few seconds), labelled by ``step``."""
    if not keep:
        return Attempt(judge(name, step.label, step.species, "video", frames, fps, pipeline, bands, models))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        item = judge(name, step.label, step.species, "video", _kept(frames, archive), fps, pipeline, bands, models)
    return Attempt(item, buffer.getvalue())


@dataclass(frozen=True)
class PadReport(Result):
    """A signed spoof-test report: by which device key, what it says, what was kept, and where it was saved."""

    report_id: str
    device_id: str
    key_fingerprint: str
    sha256: str
    """Of the report's bytes, as the ``pad_report_made`` audit event records it."""
    evaluation: PadEvaluation
    kept: list[str]
    """The vault secrets holding the kept recordings; empty when none were kept (the frames are gone)."""
    file: str | None = optional()
    """Where it was saved; ``None`` until it is (the window shows it first, then offers Save)."""
    data: bytes = hidden()
    """The report file's bytes (:func:`edge_core.audit.padreport.encode`), what Save writes."""

    def summary(self) -> str:
        kept = (f"{len(self.kept)} recordings kept, sealed in the vault" if self.kept
                else "no recording kept: the frames are gone")
        where = f"written to {self.file}" if self.file else "not saved"
        lines = [self.evaluation.summary(),
                 f"report {self.report_id} {where}, signed by the device key {self.key_fingerprint}; {kept}"]
        if self.file:
            lines.append(f"check it with: faceseal pad-eval verify {self.file} --device-key {self.key_fingerprint}")
        return "\n".join(lines)


def check_out(out: Path) -> None:
    """Refuse now, before anything is recorded, an ``out`` that cannot become a new file."""
    check_new_file(out)


def _body(evaluation: PadEvaluation, source: str, pack: str) -> dict[str, Any]:
    verdict = evaluation.as_dict()
    return {
        "report_id": str(uuid.uuid4()), "made_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "faceseal": __version__, "pack": pack, "source": source, "bands": verdict["bands"],
        "items": verdict["items"], "apcer": verdict["apcer"], "bpcer": verdict["bpcer"],
        "suggested_bands": verdict["suggested_bands"],
    }


def save_report(report: PadReport, out: Path) -> PadReport:
    """Write the signed report to ``out``, a new file (never over one)."""
    write_new_file(out, lambda handle: handle.write(report.data))
    return replace(report, file=str(out))


def sign_report(vault: Vault, evaluation: PadEvaluation, *, source: str, pack: str,
                recordings: list[bytes] | None = None, out: Path | None = None) -> PadReport:
    """Sign ``evaluation`` with the device key; seal the kept ``recordings`` and record the ``pad_report_made``
    audit event in one transaction. With ``out`` the report is written first, so a file that cannot be written
    leaves nothing kept or recorded."""
    key = device.device_key(vault)
    document = padreport.sign(key, _body(evaluation, source, pack))
    data = padreport.encode(document)
    digest = hashlib.sha256(data).hexdigest()
    kept = [f"{RECORDING_PREFIX}{document['report_id']}:{number}" for number in range(1, len(recordings or []) + 1)]
    report = PadReport(document["report_id"], document["device_id"], document["key_fingerprint"], digest, evaluation,
                       kept, data=data)
    if out is not None:
        report = save_report(report, out)
    with vault.writing() as tx:
        for name, recording in zip(kept, recordings or []):
            vault.put_secret(name, recording, conn=tx)
        audit.append(tx, "pad_report_made", report=report.report_id, source=source, sha256=digest,
                     bona_fide=sum(i.label == BONA_FIDE for i in evaluation.items),
                     attacks=sum(i.label == ATTACK for i in evaluation.items), kept=len(kept))
    return report


def camera_report(vault: Vault, attempts: list[Attempt], bands: RiskBands, pack: str,
                  out: Path | None = None) -> PadReport:
    """The guided test's report: the attempts tallied as ``pad-eval --media`` tallies files, signed (and written
    to ``out`` when given)."""
    evaluation = tally([attempt.item for attempt in attempts], bands)
    recordings = [a.recording for a in attempts if a.recording is not None]
    return sign_report(vault, evaluation, source="camera", pack=pack, recordings=recordings, out=out)


def kept_recordings(vault: Vault) -> list[str]:
    """The names of the recordings kept sealed in the vault, oldest report first."""
    return vault.secret_names(RECORDING_PREFIX)


@dataclass(frozen=True)
class KeptRecordings(Result):
    """The spoof-test recordings kept sealed in the vault: how many per report."""

    reports: dict[str, int]

    def summary(self) -> str:
        if not self.reports:
            return "no spoof-test recording is kept"
        return "\n".join(f"report {report}: {count} recordings sealed in the vault"
                         for report, count in self.reports.items())


@dataclass(frozen=True)
class RecordingsDeleted(Result):
    """Spoof-test recordings removed from the vault (audited ``pad_recordings_deleted``)."""

    deleted: int
    reports: list[str]
    warning: str | None = optional()
    """Why a copy of the data folder from before could still open them (a root FaceSeal cannot replace)."""

    def summary(self) -> str:
        done = f"{self.deleted} recordings of {len(self.reports)} reports deleted from the vault"
        return f"{done}; {self.warning}" if self.warning else done


def _report_of(name: str) -> str:
    return name[len(RECORDING_PREFIX):].rsplit(":", 1)[0]


def recordings(vault: Vault) -> KeptRecordings:
    """What ``--keep`` left in the vault, per report."""
    counts: dict[str, int] = {}
    for name in kept_recordings(vault):
        counts[_report_of(name)] = counts.get(_report_of(name), 0) + 1
    return KeptRecordings(counts)


@needs_presence("delete kept spoof-test recordings")
def delete_recordings(vault: Vault, report_id: str | None) -> RecordingsDeleted:
    """Delete the recordings one report kept, or (``None``) every one, with their audit event.

    They are frames of a person's face, so they are crypto-shredded as a person is (:func:`.keyops.rotate.shred`):
    a row deleted alone stayed readable in any copy of ``faceseal.db`` from before, which today's keys opened."""
    with key_lock(vault.layout.keys_dir, exclusive=True):
        vault.reload_keys()
        names = [n for n in kept_recordings(vault) if report_id is None or _report_of(n) == report_id]
        if report_id is not None and not names:
            raise UsageError(f"no recording of the report '{report_id[:80]}' is kept (faceseal pad-eval recordings)")
        reports = sorted({_report_of(n) for n in names})
        if not names:
            return RecordingsDeleted(0, [], None)

        def remove(tx: Connection) -> None:
            for name in names:
                vault.delete_secret(name, conn=tx)
            audit.append(tx, "pad_recordings_deleted", reports=reports, deleted=len(names))

        _, _, rotated, _ = rotate.shred(vault, remove)
    return RecordingsDeleted(len(names), reports, None if rotated else rotate.SHRED_WARNING)


@dataclass(frozen=True)
class ReportCheck(Result):
    """A report that verified: who signed it, when, and what it says in brief."""

    file: str
    report_id: str
    made_at: str
    device_id: str
    key_fingerprint: str
    pinned: bool
    """Whether the key was the one the verifier pinned (``--device-key``); else only the carried key vouches."""
    source: str
    apcer: dict[str, Any]
    bpcer: dict[str, Any]

    def summary(self) -> str:
        whose = ("the pinned device key" if self.pinned else
                 "the key it carries (compare its fingerprint with 'faceseal status' on the device that made it, "
                 "or pin it with --device-key)")
        return (f"{self.file}: valid spoof-test report {self.report_id} made {self.made_at}, signed by {whose}: "
                f"{self.key_fingerprint}")


def verify_report(path: Path, device_key: str | None = None) -> ReportCheck:
    """Check a signed report offline; ``device_key`` (a fingerprint, a device id or a public key file) pins it."""
    pin = parse_device_key(device_key) if device_key is not None else None
    report = padreport.verify(path, pin)
    return ReportCheck(str(path), str(report.get("report_id")), str(report.get("made_at")), report["device_id"],
                       report["key_fingerprint"], pin is not None, str(report.get("source")),
                       report.get("apcer", {}), report.get("bpcer", {}))
