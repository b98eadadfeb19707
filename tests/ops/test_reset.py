"""Reset: every template gone, the old root destroyed, only what the user chose kept."""

from __future__ import annotations

import json

import numpy as np
import pytest

from edge_core import ops
from edge_core.errors import WrongRootKey
from edge_core.keys.keystore import KeyStore
from edge_core.telemetry import events
from edge_core.telemetry.outbox import Outbox
from edge_core.vault import device
from tests.conftest import keychain_items, probe, run_cli


def prepare():
    with ops.open_vault() as vault:
        vault.enroll("alice", np.ones((3, 16), np.float32), "external")
        vault.enroll("bob", np.arange(1, 17, dtype=np.float32), "external")
        outbox = Outbox(vault.conn)
        outbox.enable("http://127.0.0.1:9/")
        outbox.append(events.app_started())
        ops.verify(vault, "alice", probe(np.ones(16)), 0.5)  # recorded: telemetry is on
        status = ops.status(vault)
        audit_events = len(vault.audit_events())
        queued = outbox.status().queued_events
    return status, audit_events, queued


@pytest.mark.parametrize("keep", [(), ("audit",), ("outbox",), ("device",), ("audit", "outbox", "device")])
def test_reset_deletes_everything_but_what_is_kept(isolated, keep):
    before, audit_count, queued = prepare()
    assert queued == 2
    flags = [f"--keep-{k}" if k != "device" else "--keep-device-key" for k in keep]
    result = run_cli("reset", "--yes", "--json", *flags)
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["status"] == "deleted" and answer["templates_deleted"] == 4 and answer["identities_deleted"] == 2
    assert answer["audit_events_deleted"] == (0 if "audit" in keep else audit_count)
    assert answer["outbox_events_deleted"] == (0 if "outbox" in keep else queued)
    assert answer["device_key_rotated"] is ("device" not in keep)
    with ops.open_vault() as vault:
        after = ops.status(vault)
        assert (after.identities, after.templates) == (0, 0)
        assert after.root_key.fingerprint != before.root_key.fingerprint
        assert (after.device_id == before.device_id) is ("device" in keep)
        kinds = [e.kind for e in vault.audit_events()]
        assert kinds[-1] == "vault_reset"
        assert (len(kinds) == audit_count + 1) is ("audit" in keep)
        assert vault.audit_verify() == []
        assert (Outbox(vault.conn).status().queued_events == queued) is ("outbox" in keep)


def test_reset_destroys_the_root_in_the_real_keychain(secret_service, isolated):
    before, _, _ = prepare()
    old_root_hex = next(iter(keychain_items().values()))
    old_store = KeyStore.load(isolated / "keys" / "keystore.json")
    assert run_cli("reset", "--yes").returncode == 0
    items = keychain_items()
    assert len(items) == 1 and old_root_hex not in items.values()
    from edge_core.keys.roots import SoftwareRootKey

    with pytest.raises(WrongRootKey):  # the old key store cannot be opened with what is left
        old_store.unlock(SoftwareRootKey(bytes.fromhex(next(iter(items.values())))))
    assert not (isolated / "keys" / "root_key.hex").exists()
    assert json.loads(run_cli("status", "--json").stdout)["templates"] == 0


def test_reset_without_confirmation_changes_nothing(isolated):
    prepare()
    assert run_cli("reset", "--keep-audit").returncode == 2
    assert json.loads(run_cli("status", "--json").stdout)["templates"] == 4


def test_device_key_is_sealed_and_stable(isolated):
    with ops.open_vault() as vault:
        first = device.device_key(vault)
        assert device.device_key(vault).device_id == first.device_id
        seed = first.seed()
    assert not any(seed in p.read_bytes() for p in isolated.rglob("*") if p.is_file())
