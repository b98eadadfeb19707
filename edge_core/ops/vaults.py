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

from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

from edge_core.audit import chain as audit
from edge_core.audit import inbox as audit_inbox
from edge_core.errors import (
    FaceSealError,
    InterruptedCreationUnproven,
    NoVault,
    RootKeyRevoked,
    UsageError,
    VaultLocked,
)
from edge_core.keys import lockdown, material, roots
from edge_core.keys.keystore import KeyStore
from edge_core.keys.roots import keyfile
from edge_core.ops.keyops import recover, rekey
from edge_core.ops import presence, rollback
from edge_core.ops.results import LockState, PolicyState, RollbackAccepted, RootKeyStatus, Status, TelemetryState, VaultKeyStatus
from edge_core.policy import rules as policy
from edge_core.policy import thresholds
from edge_core.support import database, paths
from edge_core.support.locking import key_lock
from edge_core.telemetry.outbox import Outbox
from edge_core.vault import device
from edge_core.vault.layout import Layout
from edge_core.vault.store import Vault, authenticate_keystore, connect, initialise, unlock_keys


def layout_for(home: Path | None = None) -> Layout:
    """The files of the data directory ``home`` (default: ``FACESEAL_HOME`` or the platform's)."""
    return Layout(Path(home) if home else paths.data_dir())


def vault_exists(home: Path | None = None) -> bool:
    """Whether ``home`` holds a vault (or the start of one): a few ``stat`` calls, nothing created."""
    layout = layout_for(home)
    return layout.has_data() or layout.init_marker.exists()


def root_file_notice(home: Path | None = None) -> str | None:
    """When the root of ``home`` is the file beside the data (no keychain): what to tell the person; else None."""
    path = layout_for(home).keys_dir / keyfile.FILENAME
    return keyfile.notice(path) if path.exists() else None


def open_vault(home: Path | None = None, reading: bool = False) -> Vault:
    """Open the vault in ``home``, creating it if there is none; ``close()`` (or ``with``) drops the keys.

    ``reading``: for a command that only reads (status, list, the audit log, the
    policy). A folder without a vault is refused with one line and nothing is
    created in it; on a full disk the vault still opens for reading (a write
    then fails as a full disk, as it must).
    """
    return _open(layout_for(home), reading, rollback.refuse)


def accept_rollback(home: Path | None = None) -> RollbackAccepted:
    """Make the folder in ``home`` the newest state on purpose (an older backup restored): opened without the
    rollback rule, audited, the anchor moved to its head (:func:`edge_core.ops.rollback.accept`)."""
    layout = layout_for(home)
    if not vault_exists(layout.home):
        raise NoVault(f"there is no FaceSeal vault in {layout.home}; nothing was changed")
    with _open(layout, False, lambda _vault, _reading: None, finish=False) as vault:
        rollback.take_newest_passphrase(vault)
        accepted = rollback.accept(vault)
        _finish(vault)  # only now is it this vault's newest state: what a crash left is finished on it
        return accepted


def older_copy_asks(home: Path | None = None) -> bool:
    """Whether accepting the older copy of the folder in ``home`` asks for an admin passphrase: its own, or the
    newest state's (:func:`edge_core.ops.rollback.newest_passphrase`). Opens it only to read."""
    with open_vault(home, reading=True) as vault:
        return presence.has_passphrase(vault) or rollback.newest_passphrase(vault) is not None


def _open(layout: Layout, reading: bool, check: Callable[[Vault, bool], None], finish: bool = True) -> Vault:
    """Open (or create) the vault of ``layout``; ``check`` runs before anything can be written. ``finish``: finish
    what a crash interrupted and drain the audit inbox (not for a folder not yet accepted as the newest state)."""
    if reading and not vault_exists(layout.home):
        raise NoVault(f"there is no FaceSeal vault in {layout.home}, and this command only reads, so nothing was "
                      f"created there; 'faceseal init', enrolling someone or opening the window makes one "
                      f"(FACESEAL_HOME chooses another folder)")
    paths.ensure_data_dir(layout.home)  # someone else's or a shared folder is refused, never chmod'ed
    paths.ensure_data_dir(layout.keys_dir)
    with key_lock(layout.keys_dir, exclusive=True):
        if layout.init_marker.exists():
            _roll_back_interrupted_creation(layout)
        if not layout.has_data():
            initialise(layout)
        recover.finish_revocation(layout)
        store, root, keys = recover.finish_reset(layout) or unlock_keys(layout)
        vault = Vault(layout, store, root, keys, connect(layout, keys, reading))
        try:
            recover.refuse_foreign_database(vault)
            check(vault, reading)
            authenticate_keystore(vault)
            if finish and vault.rolled_back is None:  # an older folder changes nothing and destroys no key
                _finish(vault)
        except BaseException:
            vault.close()
            raise
    return vault


def _finish(vault: Vault) -> None:
    """What a crash left unfinished (a key version to retire, a stale root, a deletion's database key still to
    move), and the inbox's sealed events."""
    recover.finish_pending(vault)
    vault.drain_inbox()
    rekey.finish_due(vault)


def _roll_back_interrupted_creation(layout: Layout) -> None:
    """Undo a creation killed part-way, but only one the marker proves; anything else is refused untouched.

    Proof: the marker names the creation by the random audit-inbox public key it
    wrote first; the key store, if there is one, is that creation's (same key,
    one root, vault key version 1, no kit, no revocation); the database, if it
    holds anything, opens with that key store's keys and holds no identity, no
    template and no audit event but the creation's own. Then there is nothing
    to lose, and the creation starts over. A stray, empty or foreign marker, or
    any data beyond that, is refused with one line and every byte left alone.
    """
    marker = layout.init_marker
    refusal = InterruptedCreationUnproven(
        f"{marker} is there, but FaceSeal cannot prove it is left by an interrupted creation of this vault, so it "
        f"changed nothing; if no FaceSeal is creating a vault here, remove {marker} and try again"
    )
    try:
        creation = marker.read_bytes().decode("ascii").strip()
    except (OSError, UnicodeDecodeError):
        raise refusal from None
    if not creation:
        raise refusal
    db_files = [f for f in layout.db_files() if f.exists()]
    if layout.keystore.exists():
        try:
            ks = KeyStore.load(layout.keystore)
        except FaceSealError:
            raise refusal from None
        if (not material.same_secret(ks.audit_inbox_public_key.encode(), creation.encode())
                or ks.revoked is not None or ks.recovery_kit is not None or len(ks.wraps) != 1
                or set(ks.vault_created) != {1}):
            raise refusal
        if any(f.stat().st_size for f in db_files) and not _holds_only_its_creation(layout, ks):
            raise refusal
    elif db_files:
        raise refusal  # the database is written after the key store: this one is not that creation's
    for leftover in db_files + [layout.keystore, marker]:
        leftover.unlink(missing_ok=True)
    paths.fsync_dir(layout.home)
    paths.fsync_dir(layout.keys_dir)


def _holds_only_its_creation(layout: Layout, ks: KeyStore) -> bool:
    """Whether the database opens with the key store's keys and holds nothing but a new vault's creation."""
    try:
        _store, root = roots.find_root(layout.keys_dir, layout.keychain_account)
        keys = ks.unlock(root)
        conn = database.connect(layout.db, keys.database, create=True)  # create: a schema may not be there yet
    except FaceSealError:
        return False
    try:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        for table in ("identities", "templates"):
            if table in tables and conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]:
                return False
        kinds = [row[0] for row in conn.execute("SELECT kind FROM audit_events")] if "audit_events" in tables else []
        return kinds in ([], ["vault_created"])
    except database.Error:
        return False
    finally:
        conn.close()


# ---------------------------------------------------------------------- status
def _age_days(iso: str | None) -> float | None:
    if not iso:
        return None
    return round((datetime.now(timezone.utc) - datetime.fromisoformat(iso)).total_seconds() / 86400, 2)


def rotation_due(vault: Vault) -> bool:
    """Whether the root is older than the policy allows."""
    ks = vault.keystore()
    age = _age_days(ks.root_created.get(vault.root.kid))
    return age is not None and age >= policy.load(vault).max_root_age_days


def policy_state(vault: Vault) -> PolicyState:
    """The policy in force and whether its file is absent, valid or tampered with."""
    try:
        rules = policy.load(vault)
    except (VaultLocked, RootKeyRevoked):
        raise  # locked or revoked by another process meanwhile: the policy file is not what is wrong
    except FaceSealError as error:
        return PolicyState("tampered", {}, str(error))
    return PolicyState("valid" if policy.path(vault.layout.home).exists() else "default", policy.as_dict(rules))


def status(vault: Vault) -> Status:
    """Where the root lives, key ages, counts, recovery kit, policy, device id, telemetry."""
    conn = vault.conn
    ks = vault.keystore()
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
                               root_created, age, vault.root_store.notice()),
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
        device_key=device.fingerprint(vault),
        telemetry=TelemetryState(telemetry.enabled, telemetry.endpoint),
        thresholds=thresholds.chosen(vault),
        admin_passphrase=presence.has_passphrase(vault),
        rolled_back=vault.rolled_back,
    )


# ------------------------------------------------------------------------ lock
def root_gone(vault: Vault) -> str | None:
    """Why the root key this vault was opened with is no longer where it lives, or None while it is.

    A keychain entry, a key file or ``FACESEAL_ROOT_KEY`` removed outside
    FaceSeal: the next program (or this one, once closed) cannot open the data.
    The root is still in this process's memory, so exporting a recovery kit now
    saves the data. A root in a PKCS#11 token is not checked (that needs its PIN).
    """
    store = vault.root_store
    if store.name == "pkcs11" or not vault.is_open:
        return None
    try:
        found = store.load()
    except FaceSealError:
        found = None
    if found is not None and found.kid == vault.root.kid:
        return None
    return (f"The root key is no longer in the {store.describe()}: it was removed or replaced outside FaceSeal, "
            "so the data cannot be opened again once this window closes. This window still holds the key: "
            "export a recovery copy now (Security), and restore it to put the key back.")


def _existing_layout(home: Path | None) -> Layout:
    layout = layout_for(home)
    if not layout.keystore.exists():
        raise UsageError(f"there is no FaceSeal data in {layout.home}")
    paths.ensure_data_dir(layout.home)  # a folder others can write to is refused here too, nothing written
    paths.ensure_data_dir(layout.keys_dir)
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
                           kind="vault_locked", database_key=_database_key_if_any(layout))
    lockdown.mark(layout.keys_dir, lockdown.LOCKED)
    if vault is not None:
        vault.close()
    return LockState("locked", str(layout.home))


def _database_key_if_any(layout: Layout) -> bytes | None:
    """The database key when the root opens the key store (the database itself may not open), else ``None``."""
    try:
        store, _root, keys = unlock_keys(layout, record_failure=False)
    except FaceSealError:
        return None
    store.close()
    return keys.database


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
