"""Asking a person at the terminal: the one confirmation rule, and secrets that never come from argv."""

from __future__ import annotations

import getpass
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from edge_core import ops
from edge_core.errors import UsageError

if TYPE_CHECKING:
    from edge_core.vault.store import Vault

ADMIN_VARIABLE = "FACESEAL_ADMIN_PASSPHRASE"
NEW_ADMIN_VARIABLE = "FACESEAL_NEW_ADMIN_PASSPHRASE"


def ask(question: str) -> str:
    """One line typed at the terminal after ``question``.

    Not ``input(question)``: without readline Python writes that prompt to file descriptor 2, which the
    command line points at /dev/null while a command runs (library warnings must not reach the user), so
    the person would face a silent wait. ``sys.stderr`` is the real one.
    """
    sys.stderr.write(question)
    sys.stderr.flush()
    return _typed(input)


def _typed(read: Callable[[], str]) -> str:
    """What ``read`` got at the terminal; Ctrl-D (end of input) there cancels, like answering no."""
    try:
        return read()
    except EOFError:
        raise UsageError("cancelled at the prompt; nothing was changed") from None


def confirm(given: bool, question: str, flag: str = "--yes", stakes: str = "This cannot be undone.") -> None:
    """Go on only if ``flag`` was given, or a person typed 'yes' at a terminal; else nothing happens.

    The one confirmation of the command line: destructive commands (``--yes``)
    and licences to accept (``--accept-licence``) alike.
    """
    if given:
        return
    if not sys.stdin.isatty():
        raise UsageError(f"{question} {stakes} (pass {flag} to confirm)")
    if ask(f"{question} {stakes} Type 'yes' to go on: ").strip().lower() != "yes":
        raise UsageError("cancelled; nothing was changed")


def secret(prompt: str, variable: str, source_file: Path | None, twice: bool = False, how: str | None = None) -> str:
    """A secret from a file (first line), a variable, or a terminal prompt; never from argv. ``how``: what to do
    without a terminal (default: set ``variable`` or give it in a file)."""
    if source_file is not None:
        try:
            return source_file.read_text("utf-8").splitlines()[0] if source_file.stat().st_size else ""
        except (OSError, UnicodeDecodeError):
            raise UsageError(f"{source_file} cannot be read as a text file") from None
    if variable in os.environ:
        return os.environ[variable]
    if not sys.stdin.isatty():
        raise UsageError(f"no terminal to ask for the {prompt}: {how or f'set {variable} or give it in a file'}")
    value = _typed(lambda: getpass.getpass(f"{prompt}: "))
    if twice and _typed(lambda: getpass.getpass(f"{prompt} again: ")) != value:
        raise UsageError(f"the two {prompt}s differ; nothing was written")
    return value


def presence(vault: Vault, action: str) -> ops.Proof:
    """The command line's proof of presence (``ops.asking``): the admin passphrase from the variable or the
    terminal, asked only when the use case needs it."""
    passphrase = secret(f"admin passphrase (to {action})", ADMIN_VARIABLE, None,
                        how=f"set {ADMIN_VARIABLE} or run this at a terminal")
    return ops.prove(vault, passphrase)
