"""What every installer says about FaceSeal, read from pyproject.toml so the .deb and .rpm agree.

The name, version, one-line summary, licence and maintainer come from
``[project]``; the long description is the one paragraph both package formats
show in a package manager.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

DESCRIPTION = (
    "FaceSeal finds and embeds faces with ONNX models run on this machine, and keeps "
    "every biometric template encrypted at rest (SQLCipher, AES-256-GCM) under a key "
    "hierarchy whose root stays in the OS keychain, a hardware token or your hands. "
    "Nothing leaves the machine unless you opt in."
)


class MetadataError(Exception):
    """pyproject.toml lacks a field an installer must carry."""


@dataclass(frozen=True)
class Metadata:
    name: str
    version: str
    summary: str
    licence: str
    maintainer: str
    """``Name <email>``, as Debian's Maintainer and RPM's Packager fields want it."""
    description: str = DESCRIPTION


def read(pyproject: Path = REPO / "pyproject.toml") -> Metadata:
    project = tomllib.loads(pyproject.read_text("utf-8"))["project"]
    people = project.get("maintainers") or []
    if not people or not people[0].get("email"):
        raise MetadataError("pyproject.toml has no [project] maintainers entry with an email")
    return Metadata(
        name=project["name"],
        version=project["version"],
        summary=project["description"].rstrip("."),
        licence=project["license"],
        maintainer=f"{people[0]['name']} <{people[0]['email']}>",
    )
