"""Typed errors. Every message is safe to show to a person: none carries a secret.

The CLI prints ``str(error)`` as one line and exits with ``error.exit_code``;
the UI shows the same text. Nothing below ever formats key bytes, embeddings or
the value of a secret environment variable into a message.
"""

from __future__ import annotations

import errno


class FaceSealError(Exception):
    """Base of every error FaceSeal reports to a person."""

    exit_code = 1


class UsageError(FaceSealError):
    """The request itself is malformed (bad argument, bad file, bad shape)."""

    exit_code = 2


class NoVault(UsageError):
    """A command that only reads was pointed at a folder without a vault: refused, and nothing created there."""


class InvalidKeyMaterial(UsageError):
    """A key offered by the user (hex, base64, file, variable) is not 32 bytes of key."""


class InvalidEmbedding(UsageError):
    """An embedding file is unreadable, not floating point, or the wrong shape."""


class UnknownIdentity(FaceSealError):
    """No enrolled identity has that name."""


class IdentityExists(FaceSealError):
    """An identity with that name is already enrolled."""


class LookAlikeEnrolled(FaceSealError):
    """An enrolment's samples match someone else already enrolled: refused unless the enroller accepts it.

    ``resembles`` is that person's name (the vault owner enrols, and may be told who); never a score.
    """

    def __init__(self, message: str, resembles: str = "") -> None:
        super().__init__(message)
        self.resembles = resembles


class KeyHierarchyError(FaceSealError):
    """Base for problems with the key hierarchy."""

    exit_code = 3


class RootKeyMissing(KeyHierarchyError):
    """Data exists but no root key can be found where FaceSeal looks for it."""


class WrongRootKey(KeyHierarchyError):
    """A root key was found but it is not the one the data was sealed with."""


class RootKeyRevoked(KeyHierarchyError):
    """The root key was destroyed on purpose (kill switch or reset)."""


class InsecureKeyFile(KeyHierarchyError):
    """A file holding a secret can be read by other users of this machine."""


class KeychainUnavailable(KeyHierarchyError):
    """The OS keychain is not usable here (no Secret Service, locked, refused)."""


class RootStoreFixed(KeyHierarchyError):
    """The root lives where FaceSeal cannot change it (an environment variable)."""


class VaultLocked(KeyHierarchyError):
    """Keys were dropped from memory; unlock before using the vault."""


class DataError(FaceSealError):
    """Stored data cannot be read: corrupt, truncated, tampered with or foreign."""

    exit_code = 4


class CorruptBlob(DataError):
    """A sealed template failed to parse or to authenticate."""


class DataDirUnreadable(DataError):
    """The data directory exists but cannot be opened; it is left exactly as it was."""


class ModelError(FaceSealError):
    """A model pack is missing, incomplete, corrupted or does not match."""

    exit_code = 5


# ---------------------------------------------------------------- key sovereignty
class HsmUnavailable(KeyHierarchyError):
    """The PKCS#11 module, token or key object holding the root cannot be reached."""


class HsmPinIncorrect(HsmUnavailable):
    """The token refused the PIN (never shown: only that it was refused)."""


class NoKeychainForPin(HsmUnavailable):
    """The PIN was to be kept in the OS keychain at a move into a token, and no keychain answers: nothing changed."""


class TpmUnavailable(KeyHierarchyError):
    """This machine's TPM, or the root key object inside it, cannot be reached or used."""


class TpmPinIncorrect(TpmUnavailable):
    """The TPM refused the root object's PIN, or locked itself after too many (the PIN is never shown)."""


class TpmBootStateChanged(TpmUnavailable):
    """The root is bound to the boot state (PCR 7) and the machine booted differently: the TPM will not use it."""


class RecoveryKitInvalid(UsageError):
    """A recovery kit file is not a kit, was edited, or does not belong to this data."""


class WrongPassphrase(KeyHierarchyError):
    """The passphrase does not open the recovery kit."""


class RootKitUnavailable(KeyHierarchyError):
    """The root cannot be written into a kit (it lives in an HSM and never leaves it)."""


class PolicyViolation(UsageError):
    """A request, or a proposed policy change, breaks the policy; nothing was changed."""


class ConsentRequired(UsageError):
    """Enrolling a person (or adding samples to one whose consent was never recorded) without their consent to the
    consent text in force: refused before anything is sealed."""


class PolicyTampered(DataError):
    """The policy file does not carry a valid MAC under this vault: edited outside FaceSeal."""


class VerificationLockedOut(FaceSealError):
    """Too many failed verifications for one identity; the policy makes it wait.

    ``until`` is when the lockout ends (UTC, as written in the message), for a front end to show in local time.
    """

    def __init__(self, message: str, until: str | None = None) -> None:
        super().__init__(message)
        self.until = until


class PresenceRequired(FaceSealError):
    """A use case that loosens security or destroys data needs fresh proof that the owner is here (the vault's
    admin passphrase) and none was given: nothing was changed. ``action`` names what was asked, for a front end
    that asks for proof and tries again."""

    def __init__(self, message: str, action: str = "") -> None:
        super().__init__(message)
        self.action = action


class PresenceRefused(PresenceRequired):
    """The admin passphrase given is not this vault's (never repeated); counted toward the lockout and audited."""


class EvidenceInvalid(DataError):
    """An audit evidence archive is unreadable, or its events or signature do not check out."""


class CertificateRefused(DataError):
    """A deletion certificate that must not be believed: forged, edited, or signed by another device's key."""


class DiskFull(FaceSealError):
    """The disk (or the user's quota) is full: nothing more can be written; what was stored is intact."""

    exit_code = 6


DISK_FULL_MESSAGE = ("the disk holding {where} is full (or your disk quota is used up); free some space and "
                     "try again. Nothing already stored was lost")
_DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)})


def is_disk_full(error: BaseException) -> bool:
    """Whether ``error`` means "no space left": OSError ENOSPC/EDQUOT, SQLite's SQLITE_FULL, or DiskFull itself."""
    if isinstance(error, DiskFull):
        return True
    if isinstance(error, OSError):
        return error.errno in _DISK_FULL_ERRNOS
    # SQLite (sqlite3 / sqlcipher3): SQLITE_FULL is error code 13, "database or disk is full".
    code = getattr(error, "sqlite_errorcode", None)
    return (code is not None and code & 0xFF == 13) or "database or disk is full" in str(error)


def disk_full(where: str = "the FaceSeal data") -> DiskFull:
    """The one message for a full disk (never the OS's or SQLite's own words)."""
    return DiskFull(DISK_FULL_MESSAGE.format(where=where))


class HsmModuleUntrusted(HsmUnavailable):
    """A PKCS#11 module named only by the data folder, not by this machine's administrator: never loaded."""


class InterruptedCreationUnproven(DataError):
    """``keys/.initialising`` is there but does not prove an interrupted creation: nothing is rolled back."""


class InsecureDataDir(DataError):
    """The data folder belongs to someone else or others can write to it: FaceSeal neither uses nor changes it."""


class WeakPassphrase(UsageError):
    """A recovery kit passphrase that a strength estimate (zxcvbn) finds too easy to guess; never repeated."""


class NameLookalike(FaceSealError):
    """A new name that can be mistaken for an enrolled one (the same Unicode confusable skeleton, UTS #39)."""


class IdentityTampered(DataError):
    """An identity's key does not open under the name it carries: its row was edited outside FaceSeal."""


class KeyStoreTampered(DataError):
    """The key store's fields were changed outside FaceSeal (its authentication tag does not hold): nothing acts on them."""


class KeyStoreMismatch(DataError):
    """The database needs a vault key the key store does not hold: the two were restored from different times."""


class AuditTampered(DataError):
    """The audit log was changed outside FaceSeal (its end, its head or an event): nothing more is appended to it."""


class VaultRolledBack(DataError):
    """The data folder is older than the newest state this machine saw (its rollback anchor), or that anchor is gone."""


class AnchorUnusable(DataError):
    """The rollback anchor's file cannot be read or written (its folder is in the way, or not the user's)."""


class DatabaseReplaced(DataDirUnreadable):
    """The database file this handle opened is no longer the folder's (a reset, or a copy put back): reopen it."""


class EvidenceTooLarge(UsageError):
    """An evidence archive holds more, or larger, members than any FaceSeal export: refused before it is read."""
