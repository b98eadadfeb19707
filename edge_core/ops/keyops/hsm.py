"""Hold your own key: moving the root into a PKCS#11 token or this machine's TPM, and back out.

Both directions are the crash-safe root switch with another store as target:
the token (or TPM) generates the new root (non-extractable) and the vault keys
are wrapped by it before the pointer file makes it active; the keychain root is
destroyed after. Going back, a fresh software root is made, and the hardware
key object is destroyed once the switch commits. Templates are never touched.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from edge_core.errors import KeychainUnavailable, NoKeychainForPin, RootStoreFixed, TpmUnavailable, UsageError
from edge_core.keys import material
from edge_core.keys.roots import RootStore, SoftwareRootKey, store_for_software_root
from edge_core.keys.roots.keychain import KeychainRootStore
from edge_core.keys.roots.pkcs11 import (
    PIN_VARIABLE,
    HsmLocation,
    Pkcs11RootStore,
    default_key_label,
    forget_pin,
    remember_module,
)
from edge_core.keys.roots.pkcs11 import keep_pin as keep_pin_in_keychain
from edge_core.keys.roots.tpm import TpmRootStore
from edge_core.keys.roots.tpm import problem as tpm_problem
from edge_core.ops.keyops import recovery_kit
from edge_core.ops.keyops.rootswitch import replace_root
from edge_core.ops.results import RootChange
from edge_core.vault.store import Vault

LABEL_RE = re.compile(r"^[\x20-\x7e]{1,64}$")


PIN_HOMES = {
    "keychain": "kept in the OS keychain: every FaceSeal program on this data finds it there",
    "variable": f"kept nowhere: {PIN_VARIABLE} must hold it for every later command, the window and the admin API",
}
"""Where the token PIN is kept after a move, a choice the person makes at the move (a front end asks)."""


def pin_home(pin: str, keep_pin: str | None) -> str:
    """Where the PIN will be kept: ``keep_pin`` as chosen, or, when nobody chose, the variable if it holds this
    PIN, else the keychain. Keeping it in the variable needs the variable set to it now."""
    if keep_pin is None:
        return "variable" if os.environ.get(PIN_VARIABLE) == pin else "keychain"
    if keep_pin not in PIN_HOMES:
        raise UsageError(f"the PIN is kept in the keychain or in {PIN_VARIABLE} ('keychain' or 'variable'), "
                         f"not '{keep_pin}'")
    if keep_pin == "variable" and os.environ.get(PIN_VARIABLE) != pin:
        raise UsageError(f"to keep the PIN only in {PIN_VARIABLE}, set it to the token's PIN first")
    return keep_pin


def move_root_to_hsm(vault: Vault, module: str, token: str, key_label: str | None, pin: str,
                     keep_pin: str | None = None) -> RootChange:
    """Move the root into ``token`` (reached through the PKCS#11 ``module``); the PIN is checked first.

    ``keep_pin`` is where the PIN is kept for later opens (:data:`PIN_HOMES`); the answer says where, and warns
    when it is kept nowhere.
    """
    source = _movable_into_hardware(vault)
    account = vault.layout.keychain_account
    label = key_label or default_key_label(account)
    for what, value in (("token label", token), ("key label", label)):
        if not LABEL_RE.match(value):
            raise UsageError(f"the {what} must be 1 to 64 printable ASCII characters")
    if not pin:
        raise UsageError("the HSM PIN is empty")
    home = pin_home(pin, keep_pin)
    target = Pkcs11RootStore(vault.layout.keys_dir, account, HsmLocation(str(module), token, label), pin=pin,
                             module_named_here=True)
    target.session()  # module, token and PIN are proven before anything changes
    # The person named this module here: later opens load it only because this machine says so, never
    # because the data folder's hsm.json does (a module outside the system's folders is recorded as trusted).
    remember_module(str(module))
    if home == "keychain":
        if not KeychainRootStore(account=account).available():
            target.close()
            raise NoKeychainForPin(f"there is no OS keychain to keep the HSM PIN in, so nothing was changed; keep "
                                   f"it only in {PIN_VARIABLE} instead, set to the PIN for every later command")
        keep_pin_in_keychain(account, pin)
    result = replace_root(vault, "moved", "root_moved", target, None, to="pkcs11", token=token, key_label=label)
    warning = None if home == "keychain" else (f"the PIN is {PIN_HOMES['variable']}; without it nothing opens "
                                                "this data")
    return replace(result, to="pkcs11", token=token, key_label=label, pin_kept=home, warning=warning)


def _movable_into_hardware(vault: Vault) -> RootStore:
    """The store the root leaves for a token or the TPM; refused if it is in hardware already, or fixed."""
    source = vault.root_store
    if source.in_hardware:
        raise UsageError(f"the root already lives in hardware ({source.describe()}); "
                         "move it to the keychain first to change where")
    if not source.mutable:
        raise RootStoreFixed("the root comes from FACESEAL_ROOT_KEY, which FaceSeal cannot destroy after the move; "
                             "unset it first")
    return source


TPM_WARNING = ("the root now lives only in this machine's TPM: no recovery kit can hold it, so a new motherboard "
               "or a cleared TPM loses the data unless you move the root back out first (key move-to-keychain)")


BOOT_WARNING = ("; it is also bound to this boot state (PCR 7): after a change to Secure Boot or its keys, nothing "
                "opens until the machine boots as before")


def move_root_to_tpm(vault: Vault, bind_boot_state: bool = False) -> RootChange:
    """Move the root into this machine's TPM, made there and never leaving it; the TPM is proven to answer first.

    The root object's PIN is ``FACESEAL_TPM_PIN`` (none when unset), needed by every later open.
    ``bind_boot_state``: the TPM uses the root only while PCR 7 (the Secure Boot state) is as it is now.
    """
    _movable_into_hardware(vault)
    missing = tpm_problem()
    if missing is not None:
        raise TpmUnavailable(f"{missing}; nothing was changed")
    target = TpmRootStore(vault.layout.keys_dir, vault.layout.keychain_account, bind_boot_state=bind_boot_state)
    with _counter_reserved(vault, target):
        result = replace_root(vault, "moved", "root_moved", target, None, to="tpm", boot_state_bound=bind_boot_state)
    return replace(result, to="tpm", warning=TPM_WARNING + (BOOT_WARNING if bind_boot_state else ""))


@contextmanager
def _counter_reserved(vault: Vault, target: TpmRootStore) -> Iterator[None]:
    """This vault's rollback counter defined in the TPM (not yet counted) before the root moves in, so a TPM with no
    NV space left for it refuses the move before anything changed (a root moved in without its counter would leave
    the vault without the rollback anchor it was moved for); undefined again if the move does not complete."""
    counter = target.monotonic_counter(vault.anchor.name)
    try:
        made = counter.reserve()
    except TpmUnavailable as refused:
        target.close()
        raise type(refused)(f"{refused}; nothing was changed") from None
    try:
        yield
    except BaseException:
        if made:
            try:
                counter.forget()
            except TpmUnavailable:
                pass  # the TPM went away: an index that never counted stays, as a move killed here leaves it
        raise


ESCROW_WARNING = ("the root was written to the recovery kit {kit} first, then imported into this machine's TPM. The "
                  "TPM's copy can never be exported: no later kit can hold it, and a rotation makes a root no kit "
                  "holds. Keep the kit and its passphrase apart and safe: they are the way back after a new "
                  "motherboard or a cleared TPM, and whoever holds both can open a copy of this data")


def escrow_root_into_tpm(vault: Vault, kit: Path, passphrase: str, bind_boot_state: bool = False) -> RootChange:
    """A new root, its recovery kit written to ``kit`` first, then imported into this machine's TPM (once).

    For a person who wants an escrow copy: the kit exists before the TPM holds the root, so a crash anywhere
    leaves either the old root or the imported one active, and the kit opens the data after the TPM is cleared
    (``key restore``). The passphrase and the TPM are checked before anything is written.
    """
    _movable_into_hardware(vault)
    recovery_kit.check_passphrase(passphrase)
    missing = tpm_problem()
    if missing is not None:
        raise TpmUnavailable(f"{missing}; nothing was changed")
    root = SoftwareRootKey(material.random_key())
    target = TpmRootStore(vault.layout.keys_dir, vault.layout.keychain_account, bind_boot_state=bind_boot_state,
                          escrowed=root)
    with _counter_reserved(vault, target):
        doc = recovery_kit.write_kit(vault.layout, root, Path(kit), passphrase)
        result = replace_root(vault, "moved", "root_moved", target, None, to="tpm", boot_state_bound=bind_boot_state,
                              escrowed=True)
    recovery_kit.record_kit(vault, root, Path(kit), doc)
    return replace(result, to="tpm", recovery_kit_exported=True,
                   warning=ESCROW_WARNING.format(kit=kit) + (BOOT_WARNING if bind_boot_state else ""))


def move_root_to_keychain(vault: Vault) -> RootChange:
    """Bring the root into the OS keychain: out of a token or the TPM (a fresh software root, its key destroyed; with
    no keychain running it goes into the key file, and the result says so), or out of the key file it fell back to
    when no keychain ran (a fresh root in the keychain, the file destroyed), which is what ``status`` advises."""
    source = vault.root_store
    account = vault.layout.keychain_account
    if source.name == KeychainRootStore.name:
        raise UsageError(f"the root already lives in the keychain ({source.describe()})")
    if not source.in_hardware:
        if not source.mutable:
            raise RootStoreFixed("the root comes from FACESEAL_ROOT_KEY, which FaceSeal cannot move; unset it first")
        if not KeychainRootStore(account=account).available():
            raise KeychainUnavailable("there is no OS keychain running to move the root into (a desktop session "
                                      "starts one; docs/KEYS.md says how without one); nothing was changed")
    target = store_for_software_root(vault.layout.keys_dir, account)
    counter = vault.anchor.counter  # the TPM's rollback counter while the root is there
    result = replace_root(vault, "moved", "root_moved", target, None, to=target.name)
    if counter is not None:  # from now on the anchor has no counter; one left behind would refuse a later move in
        counter.forget()
    if source.in_hardware:
        forget_pin(account)
    warning = None if target.name == KeychainRootStore.name else (
        "there is no OS keychain running, so the root went into the key file beside the data: " + target.describe())
    return replace(result, to=target.name, warning=warning)
