"""``make bench``: run every benchmark and print one JSON document with all figures.

docs/PERFORMANCE.md records the figures of a run with the command that produced them.
"""

from __future__ import annotations

import json
import platform
import sys
import time

from . import (
    bench_accuracy,
    bench_attack_model,
    bench_biometrics,
    bench_cohort,
    bench_collector,
    bench_groups,
    bench_infrared,
    bench_installed,
    bench_liveness,
    bench_liveness_accuracy,
    bench_pad_camera,
    bench_pad_real,
    bench_protection,
    bench_shred,
    bench_signin,
    bench_signin_rates,
    bench_telemetry,
    bench_tpm,
    bench_vault,
)

SUITES = {"vault": bench_vault, "biometrics": bench_biometrics, "accuracy": bench_accuracy,
          "groups": bench_groups, "cohort": bench_cohort,
          "liveness": bench_liveness, "liveness_accuracy": bench_liveness_accuracy, "telemetry": bench_telemetry,
          "collector": bench_collector, "pad_real": bench_pad_real, "pad_camera": bench_pad_camera,
          "attack_model": bench_attack_model,
          "protection": bench_protection, "shred": bench_shred,
          "signin": bench_signin, "signin_rates": bench_signin_rates, "tpm": bench_tpm, "infrared": bench_infrared,
          "installed": bench_installed}


def main(argv: list[str]) -> int:
    chosen = argv or list(SUITES)
    unknown = [name for name in chosen if name not in SUITES]
    if unknown:
        print(f"bench: unknown suite(s) {', '.join(unknown)}; choose from {', '.join(SUITES)}", file=sys.stderr)
        return 2
    report = {"machine": f"{platform.machine()} {platform.processor() or ''} python {platform.python_version()}",
              "when": time.strftime("%Y-%m-%d %H:%M:%S")}
    for name in chosen:
        print(f"== {name}", flush=True)
        report[name] = SUITES[name].run()
    print(json.dumps(report, indent=1, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
