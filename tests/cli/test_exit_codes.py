"""The exit codes are documented where a person looks (README's table, the man page's EXIT STATUS), and the list
they are held to names every code the program can return (issue 26, item 6: 1 was used and listed nowhere)."""

from __future__ import annotations

import importlib
import pkgutil
import re
import sys

import numpy as np

from edge_core.cli.exitcodes import EXIT_CODES
from edge_core.errors import FaceSealError
from tests.conftest import REPO, run_cli


def _subclasses(cls: type) -> set[type]:
    found = set(cls.__subclasses__())
    return found.union(*(_subclasses(sub) for sub in found)) if found else found


def _codes_the_program_returns() -> set[int]:
    """Every error's exit code (all of edge_core and the launcher's app imported) and every decision's code."""
    import app
    import edge_core

    for package in (edge_core, app):
        for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            if not module.name.endswith("__main__"):  # a __main__ runs the program
                importlib.import_module(module.name)
    from edge_core.cli import admin, exitcodes

    decided = {exitcodes.SUCCESS, exitcodes.NO_MATCH, exitcodes.LIVENESS_FAILED, admin.TAMPERED,
               exitcodes.INTERNAL_ERROR, exitcodes.INTERRUPTED, exitcodes.OUTPUT_CLOSED}
    return decided | {error.exit_code for error in _subclasses(FaceSealError)}


def _readme_table() -> dict[int, str]:
    text = (REPO / "README.md").read_text()
    table = text[text.index("| exit code | meaning |"):].split("\n\n", 1)[0]
    rows = [re.match(r"\| (\d+) \| (.*) \|$", line) for line in table.splitlines()[2:]]
    assert all(rows), table
    return {int(row[1]): row[2] for row in rows}


def test_every_code_the_program_returns_is_documented() -> None:
    returned = _codes_the_program_returns()
    assert 1 in returned  # unknown or existing names, the lockout, no camera
    assert returned <= set(EXIT_CODES), sorted(returned - set(EXIT_CODES))


def test_the_readme_table_is_the_list_of_codes() -> None:
    assert _readme_table() == EXIT_CODES


def test_the_man_page_exit_status_is_the_list_of_codes() -> None:
    sys.path.insert(0, str(REPO / "packaging"))
    try:
        import manpage
    finally:
        sys.path.remove(str(REPO / "packaging"))
    from app.launcher import EXTRA
    from edge_core.cli.main import build_parser

    page = manpage.render(build_parser(EXTRA), "0")
    section = page[page.index(".SH EXIT STATUS"):].split("\n.SH ", 1)[0] + "\n"
    for code, meaning in EXIT_CODES.items():
        assert f"\n.B {code}\n{manpage._text(meaning)}\n" in section, (code, section)


def test_the_refusals_of_exit_status_1_return_it(tmp_path) -> None:
    """The cases the table names for 1, from the real command: an unknown name, an enrolled one, a lockout."""
    vectors = tmp_path / "alice.npy"
    np.save(vectors, np.random.default_rng(3).normal(size=(2, 32)).astype(np.float32))
    assert run_cli("verify", "nobody", "--embedding", str(vectors)).returncode == 1
    assert run_cli("enroll", "--consent", "alice", "--embedding", str(vectors)).returncode == 0
    assert run_cli("enroll", "--consent", "alice", "--embedding", str(vectors)).returncode == 1
    assert "not enrolled" in EXIT_CODES[1] and "lockout" in EXIT_CODES[1]
