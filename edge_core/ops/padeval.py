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
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from edge_core.biometrics import IMAGE_SUFFIXES, Frame, ImageFiles, Pipeline, VideoFile
from edge_core.biometrics.groups import Rate, bounds_available
from edge_core.errors import UsageError
from edge_core.liveness import Band, RiskBands
from edge_core.liveness.check import PassiveCheck, passive_check
from edge_core.ops.results import Result, optional
from edge_core.policy.rules import RANGES

if TYPE_CHECKING:  # the liveness signals load OpenCV: not at every start of the CLI
    from edge_core.liveness.passive import AttackModel

BONA_FIDE = "bona_fide"
ATTACK = "attack"
COLUMNS = ("file", "label", "species")
HIGH_RANGE = RANGES["liveness_risk_high"]
LOW_RANGE = RANGES["liveness_risk_low"]
UNSPECIFIED = "unspecified"
"""The species of an attack whose row leaves it empty."""

Progress = Callable[[int, int, str], None]
ModelMaker = Callable[[], "Sequence[AttackModel]"]
"""Makes the attack models one judged item is shown (``ops.padtest.judging``); ``tuple``: none."""
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
    caught_by: str | None = optional()
    """For a refused attack, what refused it: the strongest signal's name, ``stopped: <why>`` or ``no face
    tracked``."""

    @property
    def error(self) -> bool:
        """An attack let through, or a bona fide presentation refused."""
        return self.refused != (self.label == ATTACK)


@dataclass(frozen=True)
class BandSuggestion(Result):
    """The risk bands the recordings argue for, and why; ``suggested`` is ``None`` when they argue for none.

    The rule: only items with a tracked face whose track did not end count
    (the others are refused whatever the bands). If the current high band
    already lies above every bona fide risk and at or below every attack risk,
    keep it. Else, when every attack's risk is above every bona fide one, the
    high band goes midway between the riskiest bona fide attempt and the least
    risky attack (rounded to 0.01, within the policy's range; on that attack's
    risk when the gap is narrower than the rounding), the widest
    margin on both sides for so few recordings: every recorded attack is
    refused and no bona fide attempt more than now, so BPCER does not grow.
    The low band stays unless it would not be below the new high one (then
    0.05 under it, or no suggestion below the policy's lowest low band). When an
    attack scored no higher than a bona fide attempt, no high band separates
    them and none is suggested: those attacks are the challenges' to stop.
    """

    current: dict[str, float]
    suggested: dict[str, float] | None
    why: str


@dataclass(frozen=True)
class PadEvaluation(Result):
    """``faceseal pad-eval``'s answer: every item, APCER per attack species and BPCER (ISO/IEC 30107-3)."""

    items: list[PadItem]
    apcer: dict[str, Rate]
    bpcer: Rate
    bands: dict[str, float]
    """The risk bands the items were judged with (the policy's): ``low`` and ``high``."""
    suggested_bands: BandSuggestion

    def summary(self) -> str:
        lines = [f"{'file':<32} {'label':<9} {'species':<12} {'kind':<5} {'faces':>5} {'band':<6} {'risk':>5}  "
                 "strongest signal"]
        for item in self.items:
            strongest = max(item.signals.items(), key=lambda kv: kv[1]["score"], default=None)
            named = (f"{strongest[0]} {strongest[1]['score']:.2f}" if strongest and strongest[1]["score"]
                     else "nothing suspicious" if strongest else "no face tracked")
            if item.stopped:
                named = f"stopped: {item.stopped}"
            if item.caught_by:
                named = f"caught by {item.caught_by}"
            risk = f"{item.risk:.2f}" if item.risk is not None else "-"
            lines.append(f"{item.file:<32} {item.label:<9} {item.species:<12} {item.kind:<5} {item.faces:>5} "
                         f"{item.band or 'none':<6} {risk:>5}  {named}")
        lines.append(f"refused: the high band (risk >= {self.bands['high']:g}), no face tracked, or the track ended")
        for species, rate in self.apcer.items():
            lines.append(f"APCER {species}: {rate.text()}")
        lines.append(f"BPCER: {self.bpcer.text()}")
        suggested = self.suggested_bands.suggested
        lines.append(f"suggested bands: low {suggested['low']:g}, high {suggested['high']:g} ("
                     f"{self.suggested_bands.why})" if suggested else f"no band suggested: {self.suggested_bands.why}")
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


def _caught_by(refused: bool, label: str, found: PassiveCheck,
               signals: dict[str, dict[str, float | str]]) -> str | None:
    """What refused an attack: the strongest signal, the reason the track ended, or that no face was tracked."""
    if label != ATTACK or not refused:
        return None
    if found.stopped is not None:
        return f"stopped: {found.stopped.value}"
    if not found.tracked:
        return "no face tracked"
    return max(signals, key=lambda name: float(signals[name]["score"]))


def judge(file: str, label: str, species: str, kind: str, frames: Iterable[Frame], fps: float | None,
          pipeline: Pipeline, bands: RiskBands, models: ModelMaker = tuple) -> PadItem:
    """One labelled presentation through the session's passive check: the one path both sources of media take
    (a file of ``--media``, an attempt recorded at the camera). ``models`` makes the attack models a session
    weighs under the policy (``ops.padtest.judging``), fresh for this item."""
    found = passive_check(pipeline, frames, fps=fps, models=models())
    signals = {s.name: {"score": round(s.score, 4), "measured": s.measured, "value": round(s.value, 4),
                        **({"note": s.note} if s.note else {})}
               for s in found.assessment.signals}
    band = found.assessment.band(bands) if found.tracked else None
    refused = band is None or band is Band.HIGH or found.stopped is not None
    return PadItem(file, label, species, kind, found.frames, found.tracked,
                   band.value if band else None, round(found.assessment.risk, 4) if found.tracked else None,
                   signals, refused, found.stopped.value if found.stopped else None,
                   _caught_by(refused, label, found, signals))


def suggest_bands(items: list[PadItem], bands: RiskBands) -> BandSuggestion:
    """The high band these recordings argue for (the rule is :class:`BandSuggestion`'s)."""
    judged = [i for i in items if i.risk is not None and i.stopped is None]
    attacks = [i.risk for i in judged if i.label == ATTACK and i.risk is not None]
    genuine = [i.risk for i in judged if i.label == BONA_FIDE and i.risk is not None]
    current = {"low": bands.low, "high": bands.high}
    if not attacks or not genuine:
        return BandSuggestion(current, None, "it needs at least one bona fide and one attack presentation with "
                                             "a tracked face; nothing to weigh")
    lowest_attack, riskiest_live = min(attacks), max(genuine)
    if lowest_attack <= riskiest_live:
        return BandSuggestion(current, None, f"no high band separates them: an attack scored {lowest_attack:.2f}, "
                                             f"at or below a bona fide attempt's {riskiest_live:.2f}; such attacks "
                                             "are left to the challenges")
    if riskiest_live < bands.high <= lowest_attack:
        return BandSuggestion(current, current, f"keep the bands: the high band {bands.high:g} already refuses "
                                                f"every attack (lowest risk {lowest_attack:.2f}) and no bona fide "
                                                f"attempt (highest {riskiest_live:.2f})")
    floor, ceiling = HIGH_RANGE
    # midway, rounded; a gap narrower than 0.01 puts the band on the least risky attack itself
    for candidate in (round((lowest_attack + riskiest_live) / 2, 2), lowest_attack):
        high = min(ceiling, max(floor, candidate))
        if riskiest_live < high <= lowest_attack:
            break
    else:
        return BandSuggestion(current, None, f"the gap between bona fide ({riskiest_live:.2f}) and attack "
                                             f"({lowest_attack:.2f}) risks lies outside the policy's range "
                                             f"{floor:g}..{ceiling:g} for the high band")
    low = bands.low if bands.low < high else round(high - 0.05, 2)
    if low < LOW_RANGE[0]:
        return BandSuggestion(current, None, f"the high band these recordings argue for ({high:g}) leaves no room "
                              f"for a low band of at least {LOW_RANGE[0]:g} below it")
    return BandSuggestion(current, {"low": low, "high": high},
                          f"high band {high:g}: midway between the riskiest bona fide attempt ({riskiest_live:.2f}) "
                          f"and the least risky attack ({lowest_attack:.2f}), so every recorded attack is refused "
                          "and no bona fide attempt is")


def tally(items: list[PadItem], bands: RiskBands) -> PadEvaluation:
    """APCER per attack species, BPCER and the suggested bands of judged ``items`` (both sources alike)."""
    bounds = bounds_available()
    attacks: dict[str, list[PadItem]] = {}
    for item in items:
        if item.label == ATTACK:
            attacks.setdefault(item.species, []).append(item)
    apcer = {species: Rate.count(sum(i.error for i in found), len(found), bounds=bounds)
             for species, found in sorted(attacks.items())}
    genuine = [i for i in items if i.label == BONA_FIDE]
    bpcer = Rate.count(sum(i.error for i in genuine), len(genuine), bounds=bounds)
    return PadEvaluation(items, apcer, bpcer, {"low": bands.low, "high": bands.high}, suggest_bands(items, bands))


def evaluate(media: Path, labels: Path, pipeline: Pipeline, bands: RiskBands,
             progress: Progress | None = None, models: ModelMaker = tuple) -> PadEvaluation:
    """Judge every labelled file of ``media`` with the passive signals; APCER per species and BPCER."""
    rows = read_labels(media, labels)
    for row in rows:
        _check_readable(row)
    items = []
    for done, row in enumerate(rows):
        if progress is not None:
            progress(done, len(rows), row.file)
        frames, fps = _frames(row)
        items.append(judge(row.file, row.label, row.species, row.kind, frames, fps, pipeline, bands, models))
    return tally(items, bands)
