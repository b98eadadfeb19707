"""``make bench``'s part of the package benchmark: identify from the unpacked package against the source tree
(issue 28, goal 4: within 1.5x), :func:`benchmarks.bench_packaging.identify_installed`.

It needs the package built (``make package``, dist/; ``BENCH_BUNDLE=path/to/faceseal`` for another build): without
one it says so and measures nothing, so ``make bench`` still runs on a tree that never packaged.
"""

from __future__ import annotations

import os
from pathlib import Path

from benchmarks.bench_packaging import REPO, identify_installed


def run() -> dict:
    bundle = Path(os.environ.get("BENCH_BUNDLE") or REPO / "dist" / "faceseal")
    if not (bundle / "faceseal").is_file():
        print(f"installed: no package at {bundle} ('make package' first); not measured", flush=True)
        return {"measured": False, "bundle": str(bundle)}
    result = identify_installed(bundle)
    print("installed identify:", result["best_warm_ms"], "package/source", result["package_over_source"],
          "cpu", result["best_warm_cpu_ms"], result["package_over_source_cpu"], flush=True)
    return result
