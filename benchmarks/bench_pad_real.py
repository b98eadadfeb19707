"""Real-media suite: ``faceseal pad-eval`` over public recordings of live people and attacks (issue 33).

``FACESEAL_PAD_MEDIA=DIR python -m benchmarks pad_real`` judges the files of
``benchmarks/pad_real_media.csv`` (the manifest: for each file its source
repository, path, commit, licence, sha256 and what it shows) found in DIR,
with the ``open`` pack and the default risk bands, exactly as

    faceseal pad-eval --pack open --media DIR --labels benchmarks/pad_real_media.csv

does (the manifest's extra columns are ignored there). No file is fetched:
the media are not in the repository (faces, and licences that do not all
allow it), so DIR is filled by hand from the manifest, e.g.
``git -C CLONE show COMMIT:PATH > DIR/FILE``. A file whose sha256 differs
from the manifest's stops the suite; without FACESEAL_PAD_MEDIA it is skipped.
"""

from __future__ import annotations

import csv
import hashlib
import os
from pathlib import Path
from typing import Any

MANIFEST = Path(__file__).with_name("pad_real_media.csv")
FOLDER_VARIABLE = "FACESEAL_PAD_MEDIA"


def checked(folder: Path) -> None:
    """Stop unless every file of the manifest in ``folder`` has the manifest's sha256."""
    with MANIFEST.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            found = hashlib.sha256((folder / row["file"]).read_bytes()).hexdigest()
            if found != row["sha256"]:
                raise SystemExit(f"bench pad_real: {row['file']} is not the manifest's file (sha256 {found})")


def run() -> dict[str, Any]:
    folder = os.environ.get(FOLDER_VARIABLE)
    if not folder:
        return {"skipped": f"set {FOLDER_VARIABLE} to a folder holding the files of {MANIFEST.name}"}
    from edge_core.biometrics import load_pack
    from edge_core.liveness import RiskBands
    from edge_core.ops import padeval

    checked(Path(folder))
    report = padeval.evaluate(Path(folder), MANIFEST, load_pack("open"), RiskBands())
    print(report.summary())
    return report.as_dict()


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=1, sort_keys=True))
