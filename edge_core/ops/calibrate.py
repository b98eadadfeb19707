"""Calibrate a pack's threshold on the user's own labelled photos (``faceseal calibrate``, Settings).

The user's photos run through the real pipeline; every same-person and
different-person pair is scored, and the report gives false rejects and false
accepts at the threshold in force and at the thresholds for 1 %, 0.1 % and
0.01 % false accepts, chosen by the rule of ``biometrics.evaluation`` (from
the different-person scores, cross-validated over people), with a DET curve.
Choosing one of those thresholds goes through :func:`identities.threshold`:
bounded by the policy and audited, like any threshold change.

A ``groups.csv`` beside the photos (columns ``identity`` and ``group``, one
row per person, the same names as the sub-folders or labels.csv's
``identity``) adds the figures per group at the same thresholds
(``biometrics.groups``): FNMR and FMR within each group, FMR across groups,
the spread between groups, each with its 95 % Clopper-Pearson interval.
Groups come from where the photos come from or a documented public fact,
never from judging a face; every person must have one.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edge_core.biometrics import IMAGE_SUFFIXES, Pipeline, read_image
from edge_core.biometrics import groups as grouping
from edge_core.biometrics.det_plot import write_det_png
from edge_core.biometrics.evaluation import TARGETS, cross_validate, error_rates, pair_scores
from edge_core.errors import FaceSealError, UsageError
from edge_core.ops import identities
from edge_core.ops.results import Result, ThresholdReport, optional
from edge_core.vault.store import Vault

MIN_PEOPLE = 4
GROUPS_FILE = "groups.csv"
"""Cross-validation over people halves them: fewer than 4 leaves a half with one person and no impostors."""

Progress = Callable[[int, int], None]
"""Called as ``progress(photos_done, photos_total)`` while embedding."""


@dataclass(frozen=True)
class CalibrationRow(Result):
    """Error rates at one threshold: on every pair of the folder, and held out (chosen on other people)."""

    label: str
    """"current" or the target false-accept rate ("0.1 %")."""
    threshold: float
    frr: float
    far: float
    held_out_frr: float | None
    held_out_far: float | None


@dataclass(frozen=True)
class Calibration(Result):
    """What ``faceseal calibrate`` reports (no embedding, no name other than the folder's labels count)."""

    pack: str
    default: float
    """The pack's own default threshold (what ``threshold --clear`` goes back to)."""
    photos: int
    people: int
    genuine_pairs: int
    impostor_pairs: int
    rows: list[CalibrationRow]
    det_curve: Path
    unusable: list[str]
    """Photos that gave no embedding (unreadable, or no face found), left out."""
    groups: list[grouping.GroupSize] | None = optional()
    group_rows: list[grouping.GroupRow] | None = optional()
    """With a groups.csv: the figures per group at each threshold of ``rows``."""

    def threshold_for(self, target: str) -> float:
        """The threshold of the row labelled ``target`` ("1 %", "0.1 %", "0.01 %")."""
        for row in self.rows:
            if row.label == target:
                return row.threshold
        raise UsageError(f"no threshold for {target}; choose one of {', '.join(target_labels())}")

    def summary(self) -> str:
        """The table a person reads."""
        lines = [f"pack {self.pack}: {self.photos} photos of {self.people} people, {self.genuine_pairs} same-person "
                 f"and {self.impostor_pairs} different-person pairs",
                 f"{'threshold':>22}  {'false rejects':>13}  {'false accepts':>13}  held out (FRR / FAR)"]
        for row in self.rows:
            held = ("" if row.held_out_frr is None
                    else f"{_percent(row.held_out_frr)} / {_percent(row.held_out_far or 0.0)}")
            name = "in force" if row.label == "current" else f"for {row.label} FA"
            lines.append(f"{name + ' ' + format(row.threshold, '.3f'):>22}  {_percent(row.frr):>13}  "
                         f"{_percent(row.far):>13}  {held}")
        lines.append(f"DET curve: {self.det_curve}")
        if self.unusable:
            lines.append(f"left out (no face or unreadable): {', '.join(self.unusable)}")
        if self.groups is not None:
            lines.extend(grouping.table(self.group_rows, self.groups))
        return "\n".join(lines)


def _percent(value: float) -> str:
    return f"{value * 100:.2f} %"


def target_label(target: float) -> str:
    """1 % / 0.1 % / 0.01 %: how a target false-accept rate is written on the command line and in the window."""
    return f"{target * 100:g} %"


def target_labels() -> list[str]:
    return [target_label(t) for t in TARGETS]


def parse_target(text: str) -> str:
    """"0.1%", "0.1 %" or "0.001" -> the row label "0.1 %"; anything else is a one-line usage error."""
    cleaned = text.replace(" ", "")
    for target in TARGETS:
        if cleaned in (f"{target * 100:g}%", f"{target:g}"):
            return target_label(target)
    raise UsageError(f"'{text}' is not a target false-accept rate; choose one of {', '.join(target_labels())}")


def labelled_photos(folder: Path) -> list[tuple[Path, str]]:
    """(photo, person) pairs from ``folder``: its labels.csv (columns file, identity) or one sub-folder per person."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UsageError(f"{folder} is not a folder; give a folder with one sub-folder per person or a labels.csv")
    labels = folder / "labels.csv"
    if labels.is_file():
        try:
            with open(labels, newline="", encoding="utf-8") as handle:
                rows = [(folder / row["file"], row["identity"].strip()) for row in csv.DictReader(handle)]
        except (KeyError, TypeError, UnicodeDecodeError, csv.Error):
            raise UsageError(f"{labels} needs the columns 'file' and 'identity'") from None
        missing = [str(path.relative_to(folder)) for path, _ in rows if not path.is_file()]
        if missing:
            raise UsageError(f"{labels} names {len(missing)} missing photo(s), e.g. {missing[0]}")
    else:
        rows = [(path, person.name) for person in sorted(folder.iterdir()) if person.is_dir()
                for path in sorted(person.iterdir()) if path.suffix.lower() in IMAGE_SUFFIXES and path.is_file()]
    people = {person for _, person in rows if person}
    if len(people) < MIN_PEOPLE:
        raise UsageError(f"{folder} holds photos of {len(people)} people; calibrating needs at least {MIN_PEOPLE} "
                         "(one sub-folder per person, or a labels.csv)")
    return [(path, person) for path, person in rows if person]


def read_groups(folder: Path, people: set[str]) -> dict[str, str] | None:
    """person -> group from ``folder``'s groups.csv (``None`` without one); a bad file is one usage error."""
    path = Path(folder) / GROUPS_FILE
    if not path.is_file():
        return None
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            rows = [(row["identity"].strip(), row["group"].strip()) for row in csv.DictReader(handle)]
    except (KeyError, AttributeError, TypeError, UnicodeDecodeError, csv.Error):
        raise UsageError(f"{path} needs the columns 'identity' and 'group', one row per person") from None
    groups: dict[str, str] = {}
    for person, group in rows:
        if not person or not group:
            raise UsageError(f"{path}: every row needs an identity and a group")
        if groups.setdefault(person, group) != group:
            raise UsageError(f"{path} puts {person} in two groups ({groups[person]}, {group})")
    unknown, missing = sorted(set(groups) - people), sorted(people - set(groups))
    if missing:
        raise UsageError(f"{path} gives no group for {len(missing)} of the people, e.g. {missing[0]}")
    if unknown:
        raise UsageError(f"{path} names {len(unknown)} people without photos, e.g. {unknown[0]}")
    return groups


def calibrate(vault: Vault | None, folder: Path, pipeline: Pipeline, det_curve: Path,
              progress: Progress | None = None) -> Calibration:
    """Embed every photo of ``folder`` with ``pipeline`` and report the error rates; write the DET curve PNG.

    ``vault`` gives the threshold in force; without one (none made yet) it is the pack's default, and no vault
    is made just to calibrate.
    """
    photos = labelled_photos(folder)
    groups = read_groups(folder, {person for _, person in photos})  # a bad file is refused before any work
    current = (pipeline.threshold if vault is None
               else identities.threshold_in_force(vault, pipeline.pack, pipeline.threshold))
    vectors, labels, unusable = [], [], []
    for done, (path, person) in enumerate(photos, 1):
        try:
            vectors.append(pipeline.embed_one(read_image(path), largest=True)[1])
            labels.append(person)
        except FaceSealError:
            unusable.append(str(path.relative_to(folder)))
        if progress is not None:
            progress(done, len(photos))
    counts = {person: labels.count(person) for person in set(labels)}
    if len(counts) < MIN_PEOPLE or sum(1 for c in counts.values() if c >= 2) < 2:
        raise UsageError(f"{folder}: faces were found for {len(counts)} people, {sum(c >= 2 for c in counts.values())} "
                         f"of them in two photos or more; calibrating needs {MIN_PEOPLE} people, two with 2+ photos")
    embeddings = np.stack(vectors)
    scores = pair_scores(embeddings, labels)
    rows = [CalibrationRow("current", current, *error_rates(scores, current), None, None)]
    for report in cross_validate(embeddings, labels):
        rows.append(CalibrationRow(target_label(report.target), round(report.threshold, 4),
                                   *error_rates(scores, report.threshold), report.frr, report.far))
    marks = [(f"{row.label}: {row.threshold:.3f}" if row.label != "current" else f"in force: {row.threshold:.3f}",
              row.far, row.frr) for row in rows]
    write_det_png({pipeline.pack: scores}, Path(det_curve), marks=marks,
                  title=f"pack {pipeline.pack} on {Path(folder).name}")
    group_sizes = group_rows = None
    if groups is not None:
        found = grouping.pairs(embeddings @ embeddings.T, labels, groups)
        group_sizes = grouping.sizes(labels, groups)
        group_rows = [grouping.at_threshold(found, row.label, row.threshold) for row in rows]
    return Calibration(pipeline.pack, pipeline.threshold, len(labels), len(counts), len(scores.genuine),
                       len(scores.impostor), rows, Path(det_curve), unusable, group_sizes, group_rows)


def use_threshold(vault: Vault, calibration: Calibration, target: str) -> ThresholdReport:
    """Make the threshold for ``target`` the pack's threshold: within the policy's bounds, audited."""
    value = math.ceil(calibration.threshold_for(target) * 1000) / 1000  # stored to 3 decimals: never looser
    return identities.threshold(vault, calibration.pack, calibration.default, value)
