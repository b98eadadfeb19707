"""TPM root benchmark: unsealing the root and opening the vault with the root in a TPM vs in the OS keychain.

The TPM is a slow chip on a slow bus, so a root inside it costs time at every
open; issue 29 asks that a person not feel it beyond the first open. Both roots
are real: a gnome-keyring-daemon on a private D-Bus (the keychain) and an swtpm
software TPM reached over its TCP socket, each started and stopped here. Two
figures per root, each the median of ``repeats`` runs, every run with a fresh
store as a new process would have:

* unseal: find the root and unwrap the key store's keys with it (the keychain
  reads one entry and runs AES-GCM; the TPM reads the object's public part and
  computes one HMAC per wrapped key);
* open: ``ops.open_vault()`` and close, everything a command pays before its work;
* write: one enrolment (two 32-d external samples) in an open vault, which moves
  the rollback anchor: with a TPM root that also counts the TPM's NV counter up.

An swtpm answers from this machine's memory, far faster than a real TPM on an
LPC or SPI bus (tens of milliseconds per command are usual there), so the TPM
figures are a floor: docs/PERFORMANCE.md says so beside them.

Run: ``make bench SUITES=tpm`` or ``.venv/bin/python -m benchmarks.bench_tpm``.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _median_ms(action: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return round(statistics.median(times) * 1000, 2)


def _figures(home: Path, repeats: int) -> dict:
    from edge_core import ops
    from edge_core.keys import roots
    from edge_core.keys.keystore import KeyStore
    from edge_core.vault.layout import Layout

    layout = Layout(home)

    def unseal() -> None:
        store, root = roots.find_root(layout.keys_dir, layout.keychain_account)
        KeyStore.load(layout.keystore).unlock(root)
        store.close()

    os.environ["FACESEAL_HOME"] = str(home)
    figures = {"unseal_ms": _median_ms(unseal, repeats), "open_ms": _median_ms(lambda: ops.open_vault().close(), repeats)}
    samples = np.random.default_rng(7).normal(size=(repeats, 2, 32)).astype(np.float32)
    names = iter(range(repeats))
    with ops.open_vault() as vault:
        figures["write_ms"] = _median_ms(lambda: vault.enroll(f"person-{(n := next(names))}", samples[n], "external"),
                                         repeats)
    return figures


def run(repeats: int = 30) -> dict:
    import keyring
    from keyring.backends import SecretService

    from edge_core import ops
    from tests.conftest import SwTpm, _start_secret_service, _wait_for_secret_service, soft_tpm

    scratch = Path(tempfile.mkdtemp(prefix="faceseal-bench-tpm-"))
    for name, sub in (("XDG_STATE_HOME", "state"), ("XDG_CONFIG_HOME", "config")):
        os.environ[name] = str(scratch / sub)
    daemon = _start_secret_service()
    (scratch / "swtpm").mkdir(mode=0o700)
    tpm = SwTpm(scratch / "swtpm", soft_tpm.free_port_pair())
    try:
        _wait_for_secret_service(daemon)
        keyring.set_keyring(SecretService.Keyring())
        tpm.start()
        os.environ["FACESEAL_TPM_TCTI"] = tpm.tcti
        homes = {"keychain": scratch / "keychain-home", "tpm": scratch / "tpm-home"}
        for kind, home in homes.items():
            os.environ["FACESEAL_HOME"] = str(home)
            with ops.open_vault() as vault:
                if kind == "tpm":
                    ops.move_root_to_tpm(vault)
        result = {kind: _figures(home, repeats) for kind, home in homes.items()}
        for figure in ("unseal_ms", "open_ms", "write_ms"):
            result[f"tpm_over_keychain_{figure[:-3]}"] = round(result["tpm"][figure] / result["keychain"][figure], 2)
        result["repeats"] = repeats
        result["tpm_is"] = "swtpm over loopback TCP (a real TPM on its bus is slower)"
        return result
    finally:
        tpm.stop()
        daemon.stop()


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=1))
