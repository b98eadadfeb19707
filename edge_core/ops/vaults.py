"""Opening the vault, its status, and the one lock every FaceSeal process obeys.

:func:`open_vault` is how every front end gets a :class:`Vault`: under the
exclusive key lock it creates a new vault if there is none, finishes whatever
key operation a crash interrupted (:mod:`edge_core.ops.keyops.recover`), and moves
sealed audit-inbox events into the chain. Data that exists but cannot be
opened is reported and never touched.

Lock is one thing everywhere: the marker in ``<data>/keys`` that makes every
process (the window, ``faceseal serve``, any command) drop its keys until it
is lifted, from the CLI, the window or the API alike; both are audited.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from edge_core.audit import chain as audit
from edge_core.audit import inbox as audit_inbox
from edge_core.errors import DataDirUnreadable, FaceSealError, RootKeyRevoked, UsageError
from edge_core.ops.keyops import recover
from edge_core.keys import lockdown
from edge_core.keys.keystore import KeyStore
from edge_core.ops.results import LockState, PolicyState, RootKeyStatus, Status, TelemetryState, VaultKeyStatus
from edge_core.policy import rules as policy
from edge_core.policy import thresholds
from edge_core.support import paths
from edge_core.support.locking import key_lock
from edge_core.telemetry.outbox import Outbox
from edge_core.vault import device
from edge_core.vault.layout import Layout
from edge_core.vault.store import Vault, connect, initialise, unlock_keys


def layout_for(home: Path | None = None) -> Layout:
    """The files of the data directory ``home`` (default: ``FACESEAL_HOME`` or the platform's)."""
    return Layout(Path(home) if home else paths.data_dir())


def open_vault(home: Path | None = None) -> Vault:
    """Open the vault in ``home``, creating it if there is none; ``close()`` (or ``with``) drops the keys."""
    layout = layout_for(home)
    if layout.home.exists() and not layout.home.is_dir():
        raise DataDirUnreadable(f"{layout.home} is not a folder")
    paths.ensure_private_dir(layout.home)
    paths.ensure_private_dir(layout.keys_dir)
    with key_lock(layout.keys_dir, exclusive=True):
        if layout.init_marker.exists() or not layout.has_data():
            initialise(layout)
        recover.finish_revocation(layout)
        store, root, keys = recover.finish_reset(layout) or unlock_keys(layout)
        vault = Vault(layout, store, root, keys, connect(layout, keys))
        try:
            recover.finish_pending(vault)
            vault.drain_inbox()
        except BaseException:
            vault.close()
            raise
    return vault


# ---------------------------------------------------------------------- status
def _age_days(iso: str | None) -> float | None:
    if not iso:
        return None
    return round((datetime.now(timezone.utc) - datetime.fromisoformat(iso)).total_seconds() / 86400, 2)


def rotation_due(vault: Vault) -> bool:
    """Whether the root is older than the policy allows."""
    age = _age_days(KeyStore.load(vault.layout.keystore).root_created.get(vault.root.kid))
    return age is not None and age >= policy.load(vault).max_root_age_days


def policy_state(vault: Vault) -> PolicyState:
    """The policy in force and whether its file is absent, valid or tampered with."""
    try:
        rules = policy.load(vault)
    except FaceSealError as error:
        return PolicyState("tampered", {}, str(error))
    return PolicyState("valid" if policy.path(vault.layout.home).exists() else "default", policy.as_dict(rules))


def status(vault: Vault) -> Status:
    """Where the root lives, key ages, counts, recovery kit, policy, device id, telemetry."""
    conn = vault.conn
    ks = KeyStore.load(vault.layout.keystore)
    count = lambda table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: E731
    version = vault.primary_version()
    root_created = ks.root_created.get(vault.root.kid)
    kit = ks.recovery_kit
    covers = kit is not None and kit.get("kid") == vault.root.kid
    rules = policy_state(vault)
    age = _age_days(root_created)
    due = None if rules.state == "tampered" else (age is not None and age >= rules.rules["max_root_age_days"])
    telemetry = Outbox(conn).settings()
    return Status(
        data_dir=str(vault.layout.home),
        root_key=RootKeyStatus(vault.root_store.name, vault.root_store.describe(), vault.root.fingerprint,
                               root_created, age),
        vault_key=VaultKeyStatus(version, ks.vault_created.get(version), _age_days(ks.vault_created.get(version))),
        identities=count("identities"),
        templates=count("templates"),
        audit_events=count("audit_events"),
        schema_version=conn.execute("PRAGMA user_version").fetchone()[0],
        recovery_kit_exported=covers,
        recovery_kit_exported_at=kit.get("exported_at") if covers and kit else None,
        locked=lockdown.refusal(vault.layout.keys_dir) is not None,
        rotation_due=due,
        policy=rules,
        device_id=device.device_key(vault).device_id,
        telemetry=TelemetryState(telemetry.enabled, telemetry.endpoint),
        thresholds=thresholds.chosen(vault),
    )


# ------------------------------------------------------------------------ lock
def _existing_layout(home: Path | None) -> Layout:
    layout = layout_for(home)
    if not layout.keystore.exists():
        raise UsageError(f"there is no FaceSeal data in {layout.home}")
    return layout


def is_locked(home: Path | None = None) -> bool:
    """Whether the data in ``home`` is locked (or its root revoked): one ``stat``, no key needed."""
    return lockdown.refusal(layout_for(home).keys_dir) is not None


def lock(home: Path | None = None, vault: Vault | None = None) -> LockState:
    """Make every FaceSeal process on this data drop its keys until :func:`unlock`; audited.

    The event goes into the chain while the vault still opens; when it does
    not (a missing root, say) the lock is set all the same and the event is
    sealed into the audit inbox, to join the chain at the next unlock.
    """
    layout = vault.layout if vault is not None else _existing_layout(home)
    if lockdown.refusal(layout.keys_dir) is not None:
        return LockState("locked", str(layout.home))
    try:
        target = vault if vault is not None and vault.is_open else open_vault(layout.home)
        try:
            with target.writing() as tx:
                audit.append(tx, "vault_locked")
        finally:
            if target is not vault:
                target.close()
    except FaceSealError:
        audit_inbox.record(layout.home, KeyStore.load(layout.keystore).audit_inbox_public_key, "vault_locked",
                           kind="vault_locked")
    lockdown.mark(layout.keys_dir, lockdown.LOCKED)
    if vault is not None:
        vault.close()
    return LockState("locked", str(layout.home))


def unlock(home: Path | None = None) -> LockState:
    """Lift the lock (a revoked root stays revoked), prove the root opens the data again; audited."""
    layout = _existing_layout(home)
    with key_lock(layout.keys_dir, exclusive=True):
        if KeyStore.load(layout.keystore).revoked is not None:
            raise RootKeyRevoked(lockdown.REVOKED_MESSAGE)
        was_locked = lockdown.refusal(layout.keys_dir) is not None
        lockdown.clear(layout.keys_dir)
    with open_vault(layout.home) as vault:
        if was_locked:
            with vault.writing() as tx:
                audit.append(tx, "vault_unlocked")
        return LockState("unlocked", str(layout.home), vault.root.fingerprint)
