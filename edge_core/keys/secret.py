"""Key material and decrypted templates in buffers FaceSeal owns and overwrites (issue 25, item 6).

Python ``bytes`` and ``str`` cannot be overwritten: a key held in one stays in
the process's freed memory until the allocator happens to reuse it, where a
reader of ``/proc/PID/mem`` or a core file finds it after the vault closed.
So every key and every decrypted template is a :class:`Secret` from the moment
it exists: ``cryptography`` writes into it (``HKDF.derive_into``, AES-GCM's
``update_into``: :mod:`edge_core.keys.material`), the vault overwrites it when
it closes or locks, and it overwrites itself when its last holder drops it.

A :class:`Secret` is a ``bytearray`` (every library that takes a key takes
it as it is), used at its fixed size: slicing it, ``bytes()`` of it or ``.hex()``
makes an ordinary copy that nothing overwrites, so code that holds keys never
does that (tests do, to know what to look for).
"""

from __future__ import annotations

import ctypes
import sys

_RANDOM = "/dev/urandom"
_DIGITS = b"0123456789abcdef"
_NIBBLES = {ord(c): int(c, 16) for c in "0123456789abcdefABCDEF"}


class Secret(bytearray):
    """A fixed-size secret buffer: :meth:`wipe` (or the end of a ``with`` block, or being freed) overwrites it."""

    __slots__ = ()

    @classmethod
    def random(cls, size: int) -> "Secret":
        """``size`` bytes from the OS CSPRNG, read straight into the buffer (``os.urandom`` returns bytes)."""
        secret = cls(size)
        with open(_RANDOM, "rb", buffering=0) as source:
            if source.readinto(secret) != size:
                raise OSError(f"{_RANDOM} gave fewer than {size} bytes")
        return secret

    @classmethod
    def from_hex(cls, text: str | bytes | bytearray, size: int) -> "Secret | None":
        """The ``size`` bytes spelt by ``text`` (exactly ``2 * size`` hex digits, surrounding whitespace ignored),
        or ``None``.

        Decoded digit by digit: indexing gives small ints (and one-character
        str) that CPython shares, so no copy of the key, whole or hex, is made.
        """
        start, end = 0, len(text)
        while start < end and _is_space(text[start]):
            start += 1
        while end > start and _is_space(text[end - 1]):
            end -= 1
        if end - start != 2 * size:
            return None
        secret = cls(size)
        for index in range(size):
            high = _NIBBLES.get(_code(text[start + 2 * index]))
            low = _NIBBLES.get(_code(text[start + 2 * index + 1]))
            if high is None or low is None:
                secret.wipe()
                return None
            secret[index] = high << 4 | low
        return secret

    def spelt_hex(self, suffix: bytes = b"") -> "Secret":
        """This secret's lowercase hex spelling, then ``suffix``, in a new Secret (how a software root is stored)."""
        spelt = Secret(2 * len(self) + len(suffix))
        for index, value in enumerate(self):
            spelt[2 * index] = _DIGITS[value >> 4]
            spelt[2 * index + 1] = _DIGITS[value & 15]
        spelt[2 * len(self):] = suffix
        return spelt

    @classmethod
    def taking(cls, value: bytes) -> "Secret":
        """A Secret holding ``value``, which a library just returned to the caller (held in one local name),
        overwritten in place (:func:`overwrite_immutable`)."""
        secret = cls(value)
        overwrite_immutable(value, _through=1)
        return secret

    def copy(self) -> "Secret":  # type: ignore[override]
        """Another Secret holding the same bytes, for a holder that outlives this one's owner."""
        return Secret(self)

    def wipe(self) -> None:
        """Overwrite every byte with zero, in place (the buffer is never moved: its size never changes)."""
        zero(self)

    def __enter__(self) -> "Secret":
        return self

    def __exit__(self, *exc: object) -> None:
        self.wipe()

    def __del__(self) -> None:
        self.wipe()

    def __repr__(self) -> str:  # never the bytes, in a traceback, a log or a debugger
        return f"Secret({len(self)} bytes)"

    __str__ = __repr__


def zero(buffer: bytearray | memoryview) -> None:
    """Overwrite a writable byte buffer with zeros, in place (an assignment of the same size never moves it)."""
    view = memoryview(buffer).cast("B")
    view[:] = bytes(view.nbytes)


def _code(char: str | int) -> int:
    return char if isinstance(char, int) else ord(char)


def _is_space(char: str | int) -> bool:
    return _code(char) in (0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x20)


def overwrite_immutable(value: str | bytes, _through: int = 0) -> None:
    """Overwrite, in place, a str or bytes a library has just returned to us and nobody else holds (keyring's
    password, a token's unwrapped key): the one copy of it we can reach.

    CPython keeps an ASCII str's characters and a bytes object's bytes right
    after their header; they are overwritten with ``0`` characters (zero bytes).
    Only for an object made for this caller a moment ago, held by the caller in
    exactly one local name: any other holder would see it change, so an object
    held anywhere else (an interned or cached one), or a str that is not compact
    ASCII, is left alone. The library's own freed temporaries stay as they are:
    docs/SECURITY.md names them.
    """
    # held by: the caller's one name, this function's argument, getrefcount's own argument, and the argument of
    # each helper of this module it came _through
    if sys.getrefcount(value) > 3 + _through or not value:
        return
    if type(value) is str and value.isascii():
        ctypes.memset(id(value) + sys.getsizeof(value) - len(value) - 1, ord("0"), len(value))
    elif type(value) is bytes:
        ctypes.memset(id(value) + sys.getsizeof(value) - len(value) - 1, 0, len(value))
