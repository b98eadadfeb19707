"""The command line's one convention: how a command is declared, run, answered and refused.

A command is declared with :meth:`Commands.add` ("key import", handler,
help). A handler takes the parsed arguments and returns a :data:`Reply`: the
use case's result and the exit code. :func:`render` prints it: ``--json`` as
one JSON document (the result's ``as_dict``, the same form the admin API
answers), otherwise the result's ``summary()`` when it has one, else its
fields as ``name: value`` lines (a list: one line an item, or the command's
``empty`` line). A handler that needs the vault is wrapped by
:func:`with_vault`, which opens it and always closes it.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NoReturn

from edge_core import ops
from edge_core.errors import UsageError

if TYPE_CHECKING:
    from edge_core.vault.store import Vault

Reply = tuple[Any, int]
Handler = Callable[[argparse.Namespace], Reply]
VaultHandler = Callable[["Vault", argparse.Namespace], Reply]


class Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line, not a usage dump."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see '{self.prog} --help')")


class Commands:
    """Every command of the parser, by its words ("audit verify"); a group is made on first use."""

    def __init__(self, parser: argparse.ArgumentParser) -> None:
        self._groups: dict[str, Any] = {"": parser.add_subparsers(dest="command", metavar="COMMAND",
                                                                   parser_class=Parser)}

    def _subcommand(self, words: str, help: str) -> argparse.ArgumentParser:
        parent, _, name = words.rpartition(" ")
        # ``help`` is plain text ("0.1 % false accepts"): argparse %-formats a listed command's help, not a description
        return self._groups[parent].add_parser(name, help=help.replace("%", "%%"), description=help)

    def group(self, words: str, help: str) -> None:
        """A command that only holds actions ("key", "policy", ...)."""
        p = self._subcommand(words, help)
        self._groups[words] = p.add_subparsers(dest=f"{words.replace(' ', '_')}_action", metavar="ACTION",
                                               required=True, parser_class=Parser)

    def add(self, words: str, handler: Handler, help: str, empty: str | None = None) -> argparse.ArgumentParser:
        """``empty``: for a command that answers a list, the line a person reads when it is empty (nothing
        printed reads as a failure); ``--json`` still prints ``[]``."""
        p = self._subcommand(words, help)
        p.set_defaults(handler=handler, empty=empty)
        return p


def with_vault(handler: VaultHandler, reading: bool = False) -> Handler:
    """A handler run with the vault open (created on first use); the keys are dropped when it returns.

    ``reading``: the command only reads: a folder without a vault is refused and nothing is created, and a
    full disk does not stop it (``ops.open_vault(reading=True)``).
    """
    def run(args: argparse.Namespace) -> Reply:
        with ops.open_vault(reading=reading) as vault:
            return handler(vault, args)

    return run


def answer(result: Any) -> Reply:
    """A result with exit code 0."""
    return result, 0


def render(result: Any, as_json: bool, empty: str | None = None) -> None:
    """Print a result for a person (``empty`` when it is an empty list and the command says what that means),
    or as JSON."""
    if as_json:
        print(json.dumps(_data(result), sort_keys=True, default=str))
    elif empty is not None and isinstance(result, list) and not result:
        print(empty)
    elif hasattr(result, "summary"):
        print(result.summary())
    elif isinstance(result, list):
        for item in result:
            data = _data(item)
            print("  ".join(f"{k}={v}" for k, v in data.items()) if isinstance(data, dict) else data)
    elif isinstance(_data(result), dict):
        _print_fields(_data(result))
    else:
        print(result)


def _data(result: Any) -> Any:
    if isinstance(result, list):
        return [_data(item) for item in result]
    return result.as_dict() if hasattr(result, "as_dict") else result


def _print_fields(payload: dict[str, Any], indent: str = "") -> None:
    for key, value in payload.items():
        if isinstance(value, dict):
            print(f"{indent}{key}:")
            _print_fields(value, indent + "  ")
        else:
            print(f"{indent}{key}: {value}")
