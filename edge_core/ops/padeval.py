"""Judge labelled recordings with the passive liveness signals: ``faceseal pad-eval`` (issue 33).

Every liveness threshold was first set on generated media; this is how it is
held to real ones. A folder of videos and still images and a CSV naming each
file's truth (columns ``file,label,species``; ``label`` is ``bona_fide`` or
``attack``, ``species`` the kind of attack: "replay", "print", ...; other
columns are ignored) go through exactly what a liveness session runs on its
frames, without the challenges (``liveness.check.passive_check``): the one
tracked face, every passive signal, their risk and its band under the policy
in force.

The decision counted is the passive one, ISO/IEC 30107-3's PAD decision: an
item is *refused* when its risk is in the high band, or when no face could be
tracked in it, or when the track ended as it would end a session (a second
face, a jump). APCER, per attack species, is the share of attacks *not*
refused (a middle band would only have asked one more challenge); BPCER is
the share of bona fide items refused. Each rate carries its exact 95 %
Clopper-Pearson interval (``biometrics.groups.Rate``; ``None`` without SciPy).

Every row is checked before any file is judged (a missing or unreadable file,
an unknown label, a path leaving the folder), so a bad CSV is one clear line,
not a failure an hour in.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from edge_core.biometrics import ImageFiles, Pipeline, VideoFile
from edge_core.biometrics.groups import Rate, bounds_available
from edge_core.errors import UsageError
from edge_core.liveness import Band, RiskBands
from edge_core.liveness.check import PassiveCheck, passive_check
from edge_core.ops.calibrate import IMAGE_SUFFIXES
from edge_core.ops.results import Result, optional

BONA_FIDE = "bona_fide"
ATTACK = "attack"
COLUMNS = ("file", "label", "species")
UNSPECIFIED = "unspecified"
"""The species of an attack whose row leaves it empty."""

Progress = Callable[[int, int, str], None]
"""Called as ``progress(items_done, items_total, file)`` before each file is judged."""


@dataclass(frozen=True)
class Row:
    """One line of the labels CSV, checked."""

    file: str
    label: str
    species: str
    path: Path

    @property
    def kind(self) -> str:
        return "image" if self.path.suffix.lower() in IMAGE_SUFFIXES else "video"


@dataclass(frozen=True)
class PadItem(Result):
    """One labelled file as the passive signals judged it."""

    file: str
    label: str
    species: str
    kind: str
    """"video" or "image"."""
    frames: int
    faces: int
    """Frames in which the face was tracked."""
    band: str | None
    """"low", "middle" or "high"; ``None`` when no face was tracked."""
    risk: float | None
    signals: dict[str, dict[str, float | str]]
    """Each signal: its ``score`` (0..1), what it ``measured`` and the measured ``value``; a ``note`` when it
    could not judge (``flat``/``depth`` when the head did not turn)."""
    refused: bool
    """The passive decision: the high band, no face tracked, or the track ended (``stopped``)."""
    stopped: str | None = optional()
    """Why the track ended early, as it would end a session (a second face, a jump)."""

    @property
    def error(self) -> bool:
        """An attack let through, or a bona fide presentation refused."""
        return self.refused != (self.label == ATTACK)


@dataclass(frozen=True)
class PadEvaluation(Result):
    """``faceseal pad-eval``'s answer: every item, APCER per attack species and BPCER (ISO/IEC 30107-3)."""

    items: list[PadItem]
    apcer: dict[str, Rate]
    bpcer: Rate
    bands: dict[str, float]
    """The risk bands the items were judged with (the policy's): ``low`` and ``high``."""

    def summary(self) -> str:
        lines = [f"{'file':<32} {'label':<9} {'species':<12} {'kind':<5} {'faces':>5} {'band':<6} {'risk':>5}  "
                 "strongest signal"]
        for item in self.items:
            strongest = max(item.signals.items(), key=lambda kv: kv[1]["score"], default=None)
            named = (f"{strongest[0]} {strongest[1]['score']:.2f}" if strongest and strongest[1]["score"]
                     else "nothing suspicious" if strongest else "no face tracked")
            if item.stopped:
                named = f"stopped: {item.stopped}"
            risk = f"{item.risk:.2f}" if item.risk is not None else "-"
            lines.append(f"{item.file:<32} {item.label:<9} {item.species:<12} {item.kind:<5} {item.faces:>5} "
                         f"{item.band or 'none':<6} {risk:>5}  {named}")
        lines.append(f"refused: the high band (risk >= {self.bands['high']:g}), no face tracked, or the track ended")
        for species, rate in self.apcer.items():
            lines.append(f"APCER {species}: {rate.text()}")
        lines.append(f"BPCER: {self.bpcer.text()}")
        if not bounds_available():
            lines.append("(95 % bounds need SciPy, which is not installed)")
        return "\n".join(lines)


def read_labels(media: Path, labels: Path) -> list[Row]:
    """The CSV's rows, each checked: a known label, a file inside ``media`` that exists."""
    if not media.is_dir():
        raise UsageError(f"{media} is not a folder of media")
    try:
        with labels.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise UsageError(f"{labels} needs the columns {','.join(COLUMNS)} (missing: {', '.join(missing)})")
            lines = list(reader)
    except FileNotFoundError:
        raise UsageError(f"{labels} does not exist") from None
    except (UnicodeDecodeError, csv.Error) as error:
        raise UsageError(f"{labels} is not a readable CSV file ({error})") from None
    except OSError as error:
        raise UsageError(f"{labels} cannot be read ({error.strerror or error})") from None
    if not lines:
        raise UsageError(f"{labels} lists no file")
    rows, seen = [], set()
    base = media.resolve()
    for number, line in enumerate(lines, start=2):
        name, label = (line.get("file") or "").strip(), (line.get("label") or "").strip()
        species = (line.get("species") or "").strip()
        where = f"{labels} line {number}"
        if label not in (BONA_FIDE, ATTACK):
            raise UsageError(f"{where}: the label '{label}' is neither {BONA_FIDE} nor {ATTACK}")
        if not name:
            raise UsageError(f"{where}: no file named")
        path = (media / name).resolve()
        if not path.is_relative_to(base):
            raise UsageError(f"{where}: '{name}' is not inside {media}")
        if not path.is_file():
            raise UsageError(f"{where}: '{name}' is not a file in {media}")
        if path in seen:
            raise UsageError(f"{where}: '{name}' is listed twice")
        seen.add(path)
        rows.append(Row(name, label, species or (UNSPECIFIED if label == ATTACK else ""), path))
    return rows


def _frames(row: Row) -> tuple[ImageFiles | VideoFile, float | None]:
    """The row's frames and frame rate; an unreadable file raises ``ImageUnreadable``/``VideoUnreadable``."""
    if row.kind == "image":
        return ImageFiles([row.path]), None
    video = VideoFile(row.path)
    return video, video.fps


def _check_readable(row: Row) -> None:
    """Decode the file's first frame now, so a file that is not media stops the run before any is judged."""
    frames, _ = _frames(row)
    first = iter(frames)
    next(first, None)
    close = getattr(first, "close", None)
    if callable(close):
        close()


def _item(row: Row, found: PassiveCheck, bands: RiskBands) -> PadItem:
    signals = {s.name: {"score": round(s.score, 4), "measured": s.measured, "value": round(s.value, 4),
                        **({"note": s.note} if s.note else {})}
               for s in found.assessment.signals}
    band = found.assessment.band(bands) if found.tracked else None
    refused = band is None or band is Band.HIGH or found.stopped is not None
    return PadItem(row.file, row.label, row.species, row.kind, found.frames, found.tracked,
                   band.value if band else None, round(found.assessment.risk, 4) if found.tracked else None,
                   signals, refused, found.stopped.value if found.stopped else None)


def evaluate(media: Path, labels: Path, pipeline: Pipeline, bands: RiskBands,
             progress: Progress | None = None) -> PadEvaluation:
    """Judge every labelled file of ``media`` with the passive signals; APCER per species and BPCER."""
    rows = read_labels(media, labels)
    for row in rows:
        _check_readable(row)
    items = []
    for done, row in enumerate(rows):
        if progress is not None:
            progress(done, len(rows), row.file)
        frames, fps = _frames(row)
        items.append(_item(row, passive_check(pipeline, frames, fps=fps), bands))
    bounds = bounds_available()
    attacks: dict[str, list[PadItem]] = {}
    for item in items:
        if item.label == ATTACK:
            attacks.setdefault(item.species, []).append(item)
    apcer = {species: Rate.count(sum(i.error for i in found), len(found), bounds=bounds)
             for species, found in sorted(attacks.items())}
    genuine = [i for i in items if i.label == BONA_FIDE]
    bpcer = Rate.count(sum(i.error for i in genuine), len(genuine), bounds=bounds)
    return PadEvaluation(items, apcer, bpcer, {"low": bands.low, "high": bands.high})
