"""The installation's device identity: an Ed25519 key sealed in the vault, and the audit heads it signs.

It signs telemetry batches and audit heads and nothing else. The seed lives in
the vault's secrets table, wrapped under the vault key like every other
secret, so it is as safe as the templates and goes wherever the root goes.

The signed head is the one thing in the database that someone holding only the
database key cannot forge: they can rewrite every event and recompute every
hash, but not sign. So every write that moves the head signs it in its own
transaction (:func:`sign_new_head`, called by ``Vault.writing``), and only if
the head signed before is the head it continued (a log changed outside
FaceSeal is never signed over); :func:`head_problems` is what ``audit verify``
checks.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from edge_core.audit import chain
from edge_core.audit.evidence import SIGNATURE_META, head_problem, key_fingerprint, signed_head
from edge_core.errors import AuditTampered
from edge_core.support.database import Connection, get_meta, set_meta
from edge_core.telemetry.device import DeviceKey

if TYPE_CHECKING:
    from edge_core.vault.store import Vault

SECRET_NAME = "device-key"


def device_key(vault: Vault) -> DeviceKey:
    """The device key, made on first use."""
    seed = vault.get_secret(SECRET_NAME)
    if seed is None:
        return rotate_device_key(vault)
    return DeviceKey.from_seed(seed)


def rotate_device_key(vault: Vault) -> DeviceKey:
    """A new device key, hence a new device id; the old one is gone."""
    key = DeviceKey.generate()
    vault.put_secret(SECRET_NAME, key.seed())
    return key


def fingerprint(vault: Vault) -> str:
    """The device key's fingerprint (SHA-256 of the raw public key): what a verifier of evidence pins."""
    return key_fingerprint(device_key(vault).public_key_raw)


def new_seed() -> bytes:
    """The seed of a new device key, for a vault built outside :class:`Vault` (reset)."""
    return DeviceKey.generate().seed()


def record_signed_head(conn: Connection, seed: bytes) -> None:
    """Sign the head of the chain in ``conn`` with the key of ``seed``, in the caller's transaction."""
    head = get_meta(conn, chain.HEAD_META)
    if head:
        set_meta(conn, SIGNATURE_META, json.dumps(signed_head(DeviceKey.from_seed(seed), head), sort_keys=True))


def _stored(conn: Connection) -> dict[str, Any] | None:
    raw = get_meta(conn, SIGNATURE_META)
    if raw is None:
        return None
    try:
        record = json.loads(raw)
    except ValueError:
        return {}
    return record if isinstance(record, dict) else {}


def _is_signed_head(record: dict[str, Any] | None, head: str, key: DeviceKey | None) -> bool:
    """Whether ``record`` is this key's valid signature of exactly ``head`` ("seq:hash")."""
    return (record is not None and key is not None and head_problem(record, key.public_key_raw) is None
            and f"{record.get('seq')}:{record.get('hash')}" == head)


def sign_new_head(vault: Vault, conn: Connection, before: str | None) -> dict[str, Any] | None:
    """In the transaction that moved the audit head from ``before``: sign the new head (the record), or refuse.

    The head signed before must be ``before``, under this device's key: else the
    log was changed outside FaceSeal since it was last signed (events appended,
    the log rewritten, the signature or the device key removed) and signing now
    would vouch for that change, so :class:`AuditTampered` rolls the whole
    transaction back. A new log (no head before, nothing signed) makes the key.
    """
    previous = _stored(conn)
    seed = vault.get_secret(SECRET_NAME)
    key = DeviceKey.from_seed(seed) if seed is not None else None
    if before is None and previous is None:
        if key is None:
            key = DeviceKey.generate()
            vault._put_secret(conn, SECRET_NAME, key.seed())
    elif not _is_signed_head(previous, before or "", key):
        raise AuditTampered(
            "the audit log is not the one this device last signed: it was changed outside FaceSeal, so nothing "
            f"was done or recorded; {chain.VERIFY_HINT}"
        )
    head = get_meta(conn, chain.HEAD_META)
    if key is None or head is None:
        return None
    record = signed_head(key, head)
    set_meta(conn, SIGNATURE_META, json.dumps(record, sort_keys=True))
    return record


def sign_audit_head(vault: Vault) -> dict[str, Any] | None:
    """Sign the current audit head anew (now) and keep the record; ``None`` if no event yet.

    Also ``None`` (nothing signed) when the head signed last is not the current
    head under this device's key: the log was changed outside FaceSeal.
    """
    seed = vault.get_secret(SECRET_NAME)
    key = DeviceKey.from_seed(seed) if seed is not None else None
    with vault.writing() as tx:
        head = get_meta(tx, chain.HEAD_META)
        if not head or key is None or not _is_signed_head(_stored(tx), head, key):
            return None
        record = signed_head(key, head)
        set_meta(tx, SIGNATURE_META, json.dumps(record, sort_keys=True))
    return record


def head_problems(vault: Vault) -> list[str]:
    """Whether the stored signed head covers the chain's last event, under this device's key."""
    conn = vault.conn
    last = chain.last(conn)
    record = _stored(conn)
    if last is None:
        return [] if not record else ["the signed head names events but the log is empty: every event was removed"]
    seq, digest = last
    if record is None:
        return [f"the audit head was never signed, or its signature was removed: the log (up to event {seq}) "
                "cannot be proven to be the one this device wrote"]
    seed = vault.get_secret(SECRET_NAME)
    if seed is None:
        return ["the device key that signs the audit head is missing from the vault: it was removed"]
    problem = head_problem(record, DeviceKey.from_seed(seed).public_key_raw)
    if problem is not None:
        return [problem.replace("signed_head.json or the public key was edited", "it was edited outside FaceSeal")]
    signed_seq = record.get("seq")
    if not isinstance(signed_seq, int) or isinstance(signed_seq, bool):
        return ["the signed head does not verify: it was edited outside FaceSeal"]
    if signed_seq > seq:
        return [f"events {seq + 1}..{signed_seq} were removed from the end (the signed head is event {signed_seq})"]
    if signed_seq < seq:
        return [f"events {signed_seq + 1}..{seq} come after the signed head (event {signed_seq}): "
                "they were added outside FaceSeal"]
    if digest is None or digest.hex() != record.get("hash"):
        return [f"event {seq} does not match the signed head: the log was rewritten"]
    return []
