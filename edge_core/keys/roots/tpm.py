"""The root inside this machine's TPM 2.0, through tpm2-pytss (the TCG's ESAPI): it never leaves the chip.

The root is an HMAC-SHA256 key the TPM generates (``sensitiveDataOrigin``) and
keeps as a persistent object (``fixedTPM``, ``fixedParent``): the TPM will use
it but never hand it out, and no copy of it exists anywhere else. Wrapping a key
below the root asks the TPM for HMAC(root, domain ‖ random salt), a one-block
key derivation of NIST SP 800-108, and seals the key with that derived key in
AES-256-GCM bound to the slot (:func:`material.aead_wrap`, as a software root
does). For a person who wants an escrow copy, the root can instead be one
FaceSeal made and sealed into a recovery kit first, imported once (given to
``TPM2_Create``, still ``fixedTPM`` and ``fixedParent``, so never duplicated out
again); the kit's copy (:class:`EscrowedTpmRoot`) computes the same HMAC in
software, which is how a restore opens the data after the TPM is cleared. A TPM
offers no AES-GCM of its own (``TPM2_EncryptDecrypt`` has no
associated data), which is why this is not our PKCS#11 path with tpm2-pkcs11
behind it (docs/KEYS.md).

Destroying the root evicts the persistent object (with the owner's authority, so
a boot state its policy refuses does not stop it): the TPM forgets it, which is
what makes rotation and crypto-shredding final (a blob saved beside the data,
the usual TPM pattern, would survive in every copy of the folder).

Which TPM is reached (the TCTI, a library name and its options) is this
machine's choice, never the data folder's: ``FACESEAL_TPM_TCTI`` or the kernel's
resource manager ``/dev/tpmrm0``. ``<data>/keys/tpm.json`` (0600) only names the
active object: its persistent handle and its TPM name (a digest of its public
part), whose first 16 bytes are its kid. A pointer without an active object
means a move into the TPM has not committed yet.

Every object this vault makes carries a tag of the vault's keychain account in
its (otherwise unused) ``authPolicy``: an object is evicted only when it bears
this vault's tag, so a handle planted in the data folder can never make FaceSeal
destroy another vault's root (issue 25).

An optional PIN (the object's authValue) comes from ``FACESEAL_TPM_PIN``; wrong
PINs count towards the TPM's own dictionary-attack lockout.

Optionally (off by default) the root is bound to the boot state: its authPolicy
is PolicyOR(PolicyPCR(PCR 7, as it is at the move) + PolicyAuthValue, the vault
tag), so it can be used only while PCR 7 (Secure Boot state) is what it was; the
tag branch can never be satisfied and keeps the object recognisable as this
vault's. The first branch's digest is kept in the pointer.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
from abc import abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from edge_core.errors import DataDirUnreadable, TpmBootStateChanged, TpmPinIncorrect, TpmUnavailable
from edge_core.keys import material
from edge_core.keys.roots.base import RootKey, RootStore, SoftwareRootKey
from edge_core.keys.secret import Secret, overwrite_immutable
from edge_core.support import paths
from edge_core.support.faults import checkpoint

POINTER_FILENAME = "tpm.json"
TCTI_VARIABLE = "FACESEAL_TPM_TCTI"
PIN_VARIABLE = "FACESEAL_TPM_PIN"
DEFAULT_TCTI = "device:/dev/tpmrm0"
#: Persistent handles FaceSeal uses: owner range, clear of the TCG's storage (0x8100xxxx) and endorsement
#: (0x8101xxxx) primary keys.
HANDLE_FIRST = 0x81460000
HANDLE_COUNT = 0x10000
BOOT_PCRS = "sha256:7"
#: NV indices of the rollback counters (owner range): one per vault, chosen by its anchor's public name.
NV_FIRST = 0x01460000
SALT_BYTES = 16
DOMAIN = b"faceseal/tpm-root/v1:"
#: TPM_CC_PolicyOR, the command code hashed into a PolicyOR digest
POLICY_OR = (0x171).to_bytes(4, "big")
KID_BYTES = 16

# The TSS library logs every TPM error code to stderr itself; FaceSeal says one line of its own instead.
os.environ.setdefault("TSS2_LOG", "all+NONE")


def tcti() -> str:
    """The TPM this machine uses, as its administrator set it (never read from a data folder)."""
    return os.environ.get(TCTI_VARIABLE) or DEFAULT_TCTI


def problem() -> str | None:
    """Why no TPM 2.0 can be used here (tpm2-pytss missing, the TCTI unreachable or not this user's), or ``None``."""
    try:
        _connect().close()
    except TpmUnavailable as missing:
        return str(missing)
    return None


def _connect() -> Any:
    """An ESAPI context on :func:`tcti`; anything missing on the way is one line."""
    try:
        from tpm2_pytss import ESAPI, TCTILdr
    except ImportError:
        raise TpmUnavailable("tpm2-pytss is not installed (pip install 'faceseal[tpm]'); the TPM cannot be used") from None
    try:
        return ESAPI(TCTILdr.parse(tcti()))
    except Exception:  # TSS2_Exception, or an OSError from the TCTI library: the TPM is not reachable
        raise TpmUnavailable(
            f"no TPM answers at {tcti()} (set {TCTI_VARIABLE}, or give your user access to /dev/tpmrm0: "
            "the 'tss' group)") from None


def vault_tag(keychain_account: str) -> bytes:
    """The digest put in this vault's TPM objects' authPolicy: public, names no folder, differs per vault."""
    return hashlib.sha256(b"faceseal/tpm-owner/v1:" + keychain_account.encode()).digest()


@dataclass(frozen=True)
class TpmObject:
    """A persistent TPM object: where it is (handle) and which it is (its TPM name, hex)."""

    handle: int
    name: str
    #: hex digest of the boot-state policy branch (PolicyPCR + PolicyAuthValue) when bound to PCR 7, else ""
    boot_branch: str = ""
    #: a root imported from a recovery kit made first: the kit's kid and fingerprint, which it keeps ("" if made here)
    escrowed_kid: str = ""
    escrowed_fingerprint: str = ""

    @property
    def kid(self) -> str:
        # The name is the hash algorithm (2 bytes) followed by the digest of the public part.
        return self.escrowed_kid or self.name[4:4 + 2 * KID_BYTES]


ESCROWED_KID = re.compile(r"^[0-9a-f]{24}$")
ESCROWED_FINGERPRINT = re.compile(r"^[0-9A-F]{4}(:[0-9A-F]{4}){4}$")


def _read_pointer(keys_dir: Path) -> TpmObject | None:
    """The active object named in ``tpm.json``; ``None`` when a move in has not committed."""
    path = keys_dir / POINTER_FILENAME
    paths.check_private_file(path)
    try:
        raw = json.loads(path.read_bytes())
        if raw["active"] is None:
            return None
        escrowed = raw["active"].get("escrowed") or {"kid": "", "fingerprint": ""}
        found = TpmObject(int(raw["active"]["handle"]), str(raw["active"]["name"]),
                          str(raw["active"].get("boot_branch", "")), str(escrowed["kid"]),
                          str(escrowed["fingerprint"]))
        if not HANDLE_FIRST <= found.handle < HANDLE_FIRST + HANDLE_COUNT or len(found.name) < 4 + 2 * KID_BYTES:
            raise ValueError("handle")
        if found.escrowed_kid and not (ESCROWED_KID.match(found.escrowed_kid)
                                       and ESCROWED_FINGERPRINT.match(found.escrowed_fingerprint)):
            raise ValueError("escrowed")
        return found
    except (ValueError, KeyError, TypeError, AttributeError):
        raise DataDirUnreadable(f"{path} is damaged; FaceSeal left it as it is") from None


def has_pointer(keys_dir: Path) -> bool:
    """Whether this data folder names a TPM root (what puts the TPM store among the candidates)."""
    return (keys_dir / POINTER_FILENAME).exists()


class _DerivingRoot(RootKey):
    """A root that wraps each key under HMAC-SHA256(root, DOMAIN ‖ a fresh salt): the TPM's way of wrapping."""

    @abstractmethod
    def derive(self, salt: bytes) -> bytes:
        """The key that wraps the slot whose blob starts with ``salt``."""

    def wrap(self, plaintext: bytes, aad: bytes) -> bytes:
        salt = os.urandom(SALT_BYTES)
        with Secret.taking(self.derive(salt)) as key:  # tpm2-pytss and hmac return bytes: overwritten after use
            return salt + material.aead_wrap(key, plaintext, aad)

    def unwrap(self, blob: bytes, aad: bytes) -> Secret | None:
        if len(blob) <= SALT_BYTES:
            return None
        with Secret.taking(self.derive(blob[:SALT_BYTES])) as key:
            return material.aead_unwrap(key, blob[SALT_BYTES:], aad)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(kid={self.kid})"


class TpmRootKey(_DerivingRoot):
    """A handle on the root inside the TPM: only its name is in this process, never its bytes."""

    def __init__(self, store: "TpmRootStore", obj: TpmObject) -> None:
        self._store = store
        self.obj = obj

    @property
    def kid(self) -> str:
        return self.obj.kid

    @property
    def fingerprint(self) -> str:
        return self.obj.escrowed_fingerprint or material.fingerprint(bytes.fromhex(self.obj.name))

    def derive(self, salt: bytes) -> bytes:
        return self._store.derive(self.obj, salt)


class EscrowedTpmRoot(_DerivingRoot):
    """The recovery kit's copy of a root that was imported into the TPM, doing in software what the TPM does with
    it: what opens the data once the TPM is cleared, and lets a restore re-wrap it for a software root."""

    def __init__(self, root: SoftwareRootKey) -> None:
        self._root = root

    @property
    def kid(self) -> str:
        return self._root.kid

    @property
    def fingerprint(self) -> str:
        return self._root.fingerprint

    def derive(self, salt: bytes) -> bytes:
        return hmac.new(self._root.secret_bytes(), DOMAIN + salt, hashlib.sha256).digest()


class TpmRootStore(RootStore):
    name = "tpm"
    priority = 45
    in_hardware = True

    def __init__(self, keys_dir: Path, keychain_account: str, pin: str | None = None,
                 bind_boot_state: bool | None = None, escrowed: SoftwareRootKey | None = None) -> None:
        self.keys_dir = keys_dir
        self.tag = vault_tag(keychain_account)
        self._pin = pin
        #: whether new roots are bound to PCR 7; ``None``: as the active root is (a rotation keeps the choice)
        self._bind = bind_boot_state
        #: the root the next :meth:`generate` imports instead of having the TPM make one (its kit is written)
        self._escrowed = escrowed
        self._context: Any = None

    # ---- the TPM -------------------------------------------------------
    def available(self) -> bool:
        return True  # built only where the pointer exists (or for a move in): the root is here or it says why not

    def describe(self) -> str:
        active = _read_pointer(self.keys_dir) if has_pointer(self.keys_dir) else None
        where = f", persistent object {active.handle:#010x}" if active else ""
        return f"this machine's TPM 2.0 ({tcti()}){where}"

    def _esys(self) -> Any:
        """One ESAPI context for this store's life (closed by :meth:`close`)."""
        if self._context is None:
            self._context = _connect()
        return self._context

    def close(self) -> None:
        if self._context is not None:
            try:
                self._context.close()
            except Exception:  # a TPM that went away mid-session: nothing is left to release
                pass
            self._context = None

    def _pin_bytes(self) -> bytes:
        pin = self._pin if self._pin is not None else os.environ.get(PIN_VARIABLE, "")
        return pin.encode()

    def _failed(self, exc: Exception, doing: str, counter: bool = False, owner: bool = False) -> TpmUnavailable:
        """One line for a TPM error: the PIN, the lockout, a full NV or the TPM gone, never the TSS's own words.

        ``counter``: ``doing`` needs NV space for the rollback counter (an NV index), not room for a persistent
        key, so a TPM that is full says which of the two ran out. ``owner``: ``doing`` is authorised by the owner
        hierarchy, not by the root's PIN, so a refused authorisation there means the owner has a password, and
        blaming the PIN would send the person after the wrong secret.
        """
        from tpm2_pytss import TPM2_RC, TSS2_Exception

        self.close()
        error = exc.error if isinstance(exc, TSS2_Exception) else None
        if error in (TPM2_RC.AUTH_FAIL, TPM2_RC.BAD_AUTH) and owner:
            return TpmUnavailable(f"the TPM's owner hierarchy has a password (set with tpm2_changeauth or by another "
                                  f"system), which FaceSeal does not use, so the TPM refused {doing}; keep the root "
                                  "in the keychain, or clear the owner password if nothing else relies on it")
        if error in (TPM2_RC.AUTH_FAIL, TPM2_RC.BAD_AUTH):
            return TpmPinIncorrect(f"the TPM refused the PIN ({PIN_VARIABLE}) while {doing}; "
                                   "too many wrong tries lock the TPM for a while")
        if error in (TPM2_RC.POLICY_FAIL, TPM2_RC.PCR_CHANGED) or (error == TPM2_RC.VALUE and "policy" in doing):
            # PolicyOR answers TPM_RC_VALUE when PCR 7 no longer gives the branch the root was bound with
            return TpmBootStateChanged(
                f"the boot state (PCR 7: Secure Boot on or off, its keys, the boot loader's signer) is not what it was "
                f"when the root was bound to it, so the TPM will not use the root while {doing}; boot as before to "
                "open the data, or restore the root from your recovery kit")
        if error == TPM2_RC.LOCKOUT:
            return TpmPinIncorrect("the TPM is locked after too many wrong PINs; wait for it to unlock, then retry")
        if error in (TPM2_RC.NV_SPACE, TPM2_RC.OBJECT_MEMORY) and counter:
            return TpmUnavailable(f"the TPM has no NV space left for this vault's rollback counter while {doing}; "
                                  "free an NV index other programs left (tpm2_getcap handles-nv-index) and retry")
        if error in (TPM2_RC.NV_SPACE, TPM2_RC.OBJECT_MEMORY):
            return TpmUnavailable(f"the TPM has no room left for another persistent key (its memory for persistent "
                                  f"objects is full) while {doing}; free a persistent handle (tpm2_getcap "
                                  "handles-persistent) and retry")
        return TpmUnavailable(f"the TPM at {tcti()} stopped answering while {doing}")

    def _ours(self, bound_at: str = "") -> list[TpmObject]:
        """Every persistent object in FaceSeal's range that carries this vault's tag: unbound, or bound to this
        boot's state or to ``bound_at`` (the pointer's branch, hex: a root bound in a boot unlike this one)."""
        from tpm2_pytss import TPM2_CAP

        esys = self._esys()
        branches = {bound_at} - {""}
        try:  # this boot's branch
            branches.add(self._boot_branch().hex())
        except TpmUnavailable:  # a TPM without a SHA-256 PCR bank: nothing of ours can be bound in this boot
            pass
        wanted = {self.tag: "", **{self._bound_policy(bytes.fromhex(branch)): branch for branch in branches}}
        try:
            _, data = esys.get_capability(TPM2_CAP.HANDLES, HANDLE_FIRST, 64)
            found = []
            for handle in data.data.handles:
                if handle >= HANDLE_FIRST + HANDLE_COUNT:
                    break
                found_handle = esys.tr_from_tpmpublic(handle)
                policy = self._tag_of(found_handle)
                if policy in wanted:
                    found.append(TpmObject(int(handle), bytes(esys.tr_get_name(found_handle)).hex(),
                                           wanted[policy]))
            return found
        except Exception as exc:
            raise self._failed(exc, "listing its keys") from None

    def _tag_of(self, handle: Any) -> bytes:
        """The vault tag in the object's authPolicy."""
        public, _, _ = self._esys().read_public(handle)
        area = public.publicArea  # both kept in names: a field read off a temporary reads freed C memory
        return bytes(area.authPolicy)

    def _present(self, obj: TpmObject) -> Any:
        """The ESYS handle of ``obj`` if the TPM still holds exactly it, else ``None``."""
        from tpm2_pytss import TPM2_RC, TSS2_Exception

        esys = self._esys()
        try:
            found = esys.tr_from_tpmpublic(obj.handle)
        except TSS2_Exception as exc:
            if exc.error == TPM2_RC.HANDLE:
                return None
            raise self._failed(exc, "looking for the root key") from None
        except Exception as exc:
            raise self._failed(exc, "looking for the root key") from None
        if bytes(esys.tr_get_name(found)).hex() != obj.name:
            return None  # another object took the handle: the root is gone
        esys.tr_set_auth(found, self._pin_bytes())
        return found

    def derive(self, obj: TpmObject, salt: bytes) -> bytes:
        """HMAC(root, DOMAIN ‖ salt) computed inside the TPM: the key that wraps one slot."""
        from tpm2_pytss import ESYS_TR, TPM2_ALG

        handle = self._present(obj)
        if handle is None:
            raise self._gone(obj)
        session = ESYS_TR.PASSWORD
        if obj.boot_branch:
            try:
                session = self._policy_session(trial=False, branch=bytes.fromhex(obj.boot_branch))
            except Exception as exc:
                raise self._failed(exc, "checking the root's boot-state policy") from None
        try:
            return bytes(self._esys().hmac(handle, DOMAIN + salt, TPM2_ALG.SHA256, session1=session))
        except TpmUnavailable:
            raise
        except Exception as exc:
            raise self._failed(exc, "using the root key") from None
        finally:
            if session != ESYS_TR.PASSWORD and self._context is not None:
                self._flush(session)

    # ---- the boot-state policy (PCR 7) ---------------------------------
    def _flush(self, handle: Any) -> None:
        try:
            self._esys().flush_context(handle)
        except Exception:  # the TPM went away: it forgot its sessions and transient objects too
            pass

    def _policy_session(self, trial: bool, branch: bytes | None = None) -> Any:
        """A policy session past PolicyPCR(PCR 7) and PolicyAuthValue, then PolicyOR(branch, tag) if ``branch``."""
        from tpm2_pytss import ESYS_TR, TPM2_ALG, TPM2_SE, TPML_DIGEST, TPMT_SYM_DEF

        esys = self._esys()
        session = esys.start_auth_session(ESYS_TR.NONE, ESYS_TR.NONE, TPM2_SE.TRIAL if trial else TPM2_SE.POLICY,
                                          TPMT_SYM_DEF(algorithm=TPM2_ALG.NULL), TPM2_ALG.SHA256)
        try:
            esys.policy_pcr(session, b"", BOOT_PCRS)
            esys.policy_auth_value(session)
            if branch is not None:
                esys.policy_or(session, TPML_DIGEST([branch, self.tag]))
        except Exception:
            self._flush(session)
            raise
        return session

    def _boot_branch(self) -> bytes:
        """The policy branch that PCR 7 as it is now satisfies (a trial session's digest)."""
        try:
            session = self._policy_session(trial=True)
            try:
                return bytes(self._esys().policy_get_digest(session))
            finally:
                self._flush(session)
        except TpmUnavailable:
            raise
        except Exception as exc:
            raise self._failed(exc, "reading the boot state (PCR 7)") from None

    def _bound_policy(self, branch: bytes) -> bytes:
        """The authPolicy of an object of this vault bound to the boot state ``branch``: PolicyOR(branch, tag).

        Computed here as TPM2_PolicyOR defines it (TPM 2.0 Part 3: SHA-256 of a zero digest, the command code and
        the branches), not by a trial session, which the TPM refuses while PCR 7 satisfies neither branch: the
        kill switch must recognise (and evict) this vault's object exactly then.
        """
        return hashlib.sha256(bytes(32) + POLICY_OR + branch + self.tag).digest()

    def _gone(self, obj: TpmObject) -> TpmUnavailable:
        return TpmUnavailable(
            f"the TPM no longer holds the root key (persistent object {obj.handle:#010x}): it was cleared, or this is "
            "another machine; restore the root from your recovery kit (a new motherboard needs it too)")

    def _evict(self, obj: TpmObject) -> None:
        """Evict ``obj`` if the TPM holds exactly it and it bears this vault's tag: never another vault's root."""
        from tpm2_pytss import ESYS_TR

        handle = self._present(obj)
        if handle is None:
            return
        try:
            expected = self._bound_policy(bytes.fromhex(obj.boot_branch)) if obj.boot_branch else self.tag
            if self._tag_of(handle) != expected:
                return
            self._esys().evict_control(ESYS_TR.OWNER, handle, obj.handle)
        except Exception as exc:
            raise self._failed(exc, "destroying a root key", owner=True) from None

    def monotonic_counter(self, label: str) -> "TpmCounter":
        return TpmCounter(self, NV_FIRST + int(label[:4], 16))

    def _write_pointer(self, active: TpmObject | None) -> None:
        doc: dict[str, Any] = {"active": None if active is None else {
            "handle": active.handle, "name": active.name, "boot_branch": active.boot_branch}}
        if active is not None and active.escrowed_kid:
            doc["active"]["escrowed"] = {"kid": active.escrowed_kid, "fingerprint": active.escrowed_fingerprint}
        paths.atomic_write(self.keys_dir / POINTER_FILENAME, json.dumps(doc, sort_keys=True).encode())

    # ---- RootStore -----------------------------------------------------
    def load(self) -> RootKey | None:
        if not has_pointer(self.keys_dir):
            return None
        active = _read_pointer(self.keys_dir)
        if active is None:
            return None
        if self._present(active) is None:
            raise self._gone(active)
        return TpmRootKey(self, active)

    def generate(self) -> RootKey:
        """A new HMAC key made inside the TPM, persisted under a free handle; not yet the active root.

        The pointer exists from here on (without an active object if there was
        none), so an interrupted switch's object is found and destroyed on the
        next open; if the TPM makes nothing (gone, full), a pointer made here is
        removed again and the folder is as it was.
        """
        created = not has_pointer(self.keys_dir)
        active = None if created else _read_pointer(self.keys_dir)
        if created:
            self._write_pointer(None)
        bind = self._bind if self._bind is not None else bool(active and active.boot_branch)
        try:
            return self._make(active, bind)
        except TpmUnavailable:
            if created:
                (self.keys_dir / POINTER_FILENAME).unlink(missing_ok=True)
            raise

    def _make(self, active: TpmObject | None, bind: bool) -> RootKey:
        """Destroy this vault's objects but ``active`` (left by an interrupted switch: they wrap nothing kept),
        then make the new one."""
        from tpm2_pytss import ESYS_TR, TPM2B_PUBLIC, TPM2B_SENSITIVE_CREATE, TPMA_OBJECT

        ours = self._ours()
        keep = (active.handle, active.name) if active else None
        for obj in ours:
            if (obj.handle, obj.name) != keep:
                self._evict(obj)
        branch = self._boot_branch() if bind else b""
        esys = self._esys()
        transient = []  # flushed whatever happens: a TPM without a resource manager keeps them otherwise
        failure: Exception | None = None
        try:
            primary, *_ = esys.create_primary(TPM2B_SENSITIVE_CREATE(), TPM2B_PUBLIC.parse(
                "ecc256:aes128cfb", objectAttributes=TPMA_OBJECT.DEFAULT_TPM2_TOOLS_CREATEPRIMARY_ATTRS))
            transient.append(primary)
            # Bound: no USERWITHAUTH, so only the policy (PCR 7 as now, and the PIN) can use the key. Imported:
            # the key bytes are given (no SENSITIVEDATAORIGIN); fixedTPM and fixedParent all the same, so the TPM's
            # copy can never be duplicated out of it.
            template = TPM2B_PUBLIC.parse("hmac:sha256", objectAttributes=(
                TPMA_OBJECT.FIXEDTPM | TPMA_OBJECT.FIXEDPARENT | TPMA_OBJECT.SIGN_ENCRYPT
                | (TPMA_OBJECT(0) if self._escrowed else TPMA_OBJECT.SENSITIVEDATAORIGIN)
                | (TPMA_OBJECT(0) if bind else TPMA_OBJECT.USERWITHAUTH)))
            template.publicArea.authPolicy = self._bound_policy(branch) if bind else self.tag
            sensitive = TPM2B_SENSITIVE_CREATE()
            sensitive.sensitive.userAuth = self._pin_bytes()
            if self._escrowed is not None:
                escrowed = bytes(self._escrowed.secret_bytes())  # tpm2-pytss takes bytes, not a Secret
                sensitive.sensitive.data = escrowed
                overwrite_immutable(escrowed)  # the TSS's structure keeps its own copy until it is freed
            private, public, *_ = esys.create(primary, sensitive, template)
            loaded = esys.load(primary, private, public)
            transient.append(loaded)
            name = bytes(esys.tr_get_name(loaded)).hex()
            handle = self._free_handle({obj.handle for obj in ours})
            esys.evict_control(ESYS_TR.OWNER, loaded, handle)
        except TpmUnavailable:
            raise
        except Exception as exc:
            failure = exc
        finally:
            for obj in transient:
                try:
                    esys.flush_context(obj)
                except Exception:  # the TPM went away: it forgot its transient objects too
                    pass
        if failure is not None:
            raise self._failed(failure, "making a new root key", owner=True) from None
        escrowed = self._escrowed
        self._escrowed = None  # imported once: a later generate (a rotation) has the TPM make the root
        return TpmRootKey(self, TpmObject(handle, name, branch.hex(), escrowed.kid if escrowed else "",
                                          escrowed.fingerprint if escrowed else ""))

    def _free_handle(self, taken: set[int]) -> int:
        from tpm2_pytss import TPM2_CAP

        _, data = self._esys().get_capability(TPM2_CAP.HANDLES, HANDLE_FIRST, HANDLE_COUNT)
        used = taken | {int(h) for h in data.data.handles}
        start = int.from_bytes(os.urandom(2), "big")
        for step in range(HANDLE_COUNT):
            handle = HANDLE_FIRST + (start + step) % HANDLE_COUNT
            if handle not in used:
                return handle
        raise TpmUnavailable("every persistent handle FaceSeal may use in the TPM is taken")

    def activate(self, key: RootKey) -> None:
        """Point at the new object (the atomic step), then evict the old one.

        A crash after the pointer is written leaves the new root active and the
        old object in the TPM; the next open destroys it (:meth:`destroy_stale`).
        """
        assert isinstance(key, TpmRootKey)
        previous = _read_pointer(self.keys_dir) if has_pointer(self.keys_dir) else None
        self._write_pointer(key.obj)
        checkpoint("tpm.pointer-written")
        if previous is not None and previous != key.obj:
            self._evict(previous)

    def destroy(self) -> bool:
        """Retire the pointer, evict every object of this vault, remove the pointer: a crash is finished on open."""
        if not has_pointer(self.keys_dir):
            return False
        active = _read_pointer(self.keys_dir)
        self._write_pointer(None)
        checkpoint("tpm.pointer-retired")
        for obj in self._ours(active.boot_branch if active else ""):
            self._evict(obj)  # with the owner's authority: a boot state the root's policy refuses does not stop it
        (self.keys_dir / POINTER_FILENAME).unlink(missing_ok=True)
        paths.fsync_dir(self.keys_dir)
        return active is not None

    def destroy_stale(self, kids: set[str], proven: Callable[[RootKey], bool]) -> None:
        """Evict this vault's objects among ``kids`` that ``proven`` shows wrapped this vault's keys."""
        try:
            for obj in self._ours():
                # An imported root's kid is its kit's, which the TPM does not know: each stale kid is tried on it.
                named = [obj] if obj.kid in kids else [replace(obj, escrowed_kid=kid) for kid in kids]
                if any(proven(TpmRootKey(self, candidate)) for candidate in named):
                    self._evict(obj)
        except TpmUnavailable:
            return  # TPM away: the stale wraps stay, so the next open tries again


def forget_restored(keys_dir: Path, keychain_account: str) -> None:
    """A root restored from its kit replaces one the TPM held (an imported root): the TPM's copy is evicted if the
    TPM answers, and the pointer goes either way (a cleared or absent TPM has nothing left to evict)."""
    if not has_pointer(keys_dir):
        return
    store = TpmRootStore(keys_dir, keychain_account)
    try:
        store.destroy()
    except (TpmUnavailable, DataDirUnreadable):
        (keys_dir / POINTER_FILENAME).unlink(missing_ok=True)
        paths.fsync_dir(keys_dir)
    finally:
        store.close()


class TpmCounter:
    """A TPM NV counter (``TPM2_NT_COUNTER``): it only counts up, and even deleted and made again it starts at the
    highest value any counter of that TPM ever reached, so no copy of anything brings an older value back."""

    def __init__(self, store: TpmRootStore, index: int) -> None:
        self._store = store
        self.index = index

    def describe(self) -> str:
        return f"the TPM's NV counter {self.index:#010x}"

    def _handle(self) -> Any:
        from tpm2_pytss import TPM2_RC, TSS2_Exception

        try:
            return self._store._esys().tr_from_tpmpublic(self.index)
        except TSS2_Exception as exc:
            if exc.error == TPM2_RC.HANDLE:
                return None
            raise self._store._failed(exc, "reading the rollback counter") from None
        except Exception as exc:
            raise self._store._failed(exc, "reading the rollback counter") from None

    def value(self) -> int | None:
        from tpm2_pytss import ESYS_TR, TPM2_RC, TSS2_Exception

        handle = self._handle()
        if handle is None:
            return None
        try:
            return int.from_bytes(bytes(self._store._esys().nv_read(handle, 8, 0, ESYS_TR.OWNER)), "big")
        except TSS2_Exception as exc:
            if exc.error == TPM2_RC.NV_UNINITIALIZED:
                return None
            raise self._store._failed(exc, "reading the rollback counter", owner=True) from None

    def forget(self) -> None:
        from tpm2_pytss import ESYS_TR

        handle = self._handle()
        if handle is None:
            return
        try:
            self._store._esys().nv_undefine_space(handle, ESYS_TR.OWNER)
        except Exception as exc:
            raise self._store._failed(exc, "deleting the rollback counter", owner=True) from None

    def reserve(self) -> bool:
        """Define the counter's NV index without counting (its value stays ``None`` until the first bump), so a TPM
        with no NV space left says so before a root moves in; ``True`` if it was defined here."""
        if self._handle() is not None:
            return False
        self._define()
        return True

    def _define(self) -> Any:
        from tpm2_pytss import ESYS_TR, TPM2_ALG, TPM2_NT, TPM2B_AUTH, TPM2B_NV_PUBLIC, TPMA_NV, TPMS_NV_PUBLIC

        attributes = TPMA_NV.OWNERWRITE | TPMA_NV.OWNERREAD | TPMA_NV.NO_DA | (TPM2_NT.COUNTER << TPMA_NV.TPM2_NT_SHIFT)
        public = TPM2B_NV_PUBLIC(nvPublic=TPMS_NV_PUBLIC(
            nvIndex=self.index, nameAlg=TPM2_ALG.SHA256, attributes=attributes, dataSize=8))
        try:
            return self._store._esys().nv_define_space(TPM2B_AUTH(), public, ESYS_TR.OWNER)
        except Exception as exc:
            raise self._store._failed(exc, "making this vault's rollback counter", counter=True,
                                        owner=True) from None

    def bump(self) -> None:
        from tpm2_pytss import ESYS_TR

        handle = self._handle()
        if handle is None:
            handle = self._define()
        try:
            self._store._esys().nv_increment(handle, ESYS_TR.OWNER)
        except Exception as exc:
            raise self._store._failed(exc, "counting the rollback counter up", owner=True) from None
