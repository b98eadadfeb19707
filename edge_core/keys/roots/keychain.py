"""The root in the OS keychain through python-keyring (Secret Service, macOS Keychain).

keyring's fail, null and plaintext backends count as *no keychain*: a root in a
plaintext file in someone else's format would be a file fallback in disguise.
"""

from __future__ import annotations

import keyring
import keyring.errors
from keyring.backend import KeyringBackend

from edge_core.errors import KeychainUnavailable, WrongRootKey
from edge_core.keys import material
from edge_core.keys.roots.base import RootKey, RootStore, SoftwareRootKey
from edge_core.keys.secret import overwrite_immutable

SERVICE = "faceseal"
ACCOUNT = "root-key"


def _usable(backend: KeyringBackend) -> bool:
    from keyring.backends import chainer, fail, null

    if isinstance(backend, chainer.ChainerBackend):
        return any(_usable(inner) for inner in backend.backends)
    if isinstance(backend, (fail.Keyring, null.Keyring)):
        return False
    return "plaintext" not in type(backend).__name__.lower()


def usable() -> bool:
    """Whether a real keychain answers here (not keyring's fail, null or plaintext backends)."""
    try:
        return _usable(keyring.get_keyring())
    except Exception:  # a broken backend import is "no keychain", not a crash
        return False


def call(fn, service: str, account: str, *args):
    """``fn(service, account, *args)`` of python-keyring: a missing entry on delete is ``None``, a refusal one line."""
    try:
        return fn(service, account, *args)
    except keyring.errors.PasswordDeleteError:
        return None
    except keyring.errors.KeyringError as exc:
        raise KeychainUnavailable(
            f"the OS keychain refused the request ({type(exc).__name__}); unlock it and try again"
        ) from None


class KeychainRootStore(RootStore):
    name = "keychain"
    priority = 30

    def __init__(self, service: str = SERVICE, account: str = ACCOUNT) -> None:
        self.service = service
        self.account = account

    def available(self) -> bool:
        return usable()

    def describe(self) -> str:
        backend = type(keyring.get_keyring()).__module__.rsplit(".", 1)[-1]
        return f"OS keychain ({backend}), service '{self.service}', account '{self.account}'"

    def _call(self, fn, *args):
        return call(fn, self.service, self.account, *args)

    def load(self) -> RootKey | None:
        stored = self._call(keyring.get_password)
        if stored is None:
            return None
        try:
            return SoftwareRootKey(material.parse_hex_key(stored, "the keychain entry"))
        except Exception:
            raise WrongRootKey(
                f"the keychain entry '{self.service}/{self.account}' does not hold a FaceSeal root key"
            ) from None
        finally:
            # keyring made this str for us a moment ago and keeps no reference: overwrite its hex in place
            overwrite_immutable(stored)

    def generate(self) -> RootKey:
        return SoftwareRootKey(material.random_key())

    def activate(self, key: RootKey) -> None:
        assert isinstance(key, SoftwareRootKey)
        with key.secret_bytes().spelt_hex() as spelt:
            text = spelt.decode("ascii")  # keyring takes only a str: made here, overwritten once handed over
        try:
            self._call(keyring.set_password, text)
        finally:
            overwrite_immutable(text)
        if self.load() is None or self.load().kid != key.kid:  # type: ignore[union-attr]
            raise KeychainUnavailable("the OS keychain did not keep the new root key")

    def destroy(self) -> bool:
        if self._call(keyring.get_password) is None:
            return False
        self._call(keyring.delete_password)
        return True
