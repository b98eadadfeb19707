"""``man faceseal`` is generated from the parser the program runs, so no command can be missing from it."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from app.launcher import EXTRA
from edge_core import __version__
from edge_core.cli.main import build_parser


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import manpage

    path = tmp_path_factory.mktemp("man") / "faceseal.1"
    path.write_text(manpage.render(build_parser(EXTRA), __version__))
    return path


def _rendered(page: Path) -> subprocess.CompletedProcess:
    if shutil.which("man") is None:
        pytest.skip("man is not installed")
    return subprocess.run(["man", "--warnings", "-l", str(page)], capture_output=True, text=True,
                          env=dict(os.environ, MANPAGER="cat", MANWIDTH="200"))


def test_every_command_of_the_parser_is_in_the_rendered_page(page: Path) -> None:
    import manpage

    result = _rendered(page)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    text = " ".join(result.stdout.replace("\u2010", "-").split())
    words = [w for w, _ in manpage.commands(build_parser(EXTRA))]
    assert {"status", "enroll", "verify", "identify", "self-test", "models install", "audit verify"} <= set(words)
    missing = [w for w in words if f"faceseal {w} " not in text]
    assert missing == []


def test_a_command_added_to_the_parser_appears_in_the_page(tmp_path: Path) -> None:
    """The page follows the parser: a new command shows up without anyone editing the page."""
    import manpage

    extra = [*EXTRA, ("frobnicate", lambda args: (None, 0), "a command that exists only in this test")]
    page = tmp_path / "faceseal.1"
    page.write_text(manpage.render(build_parser(extra), __version__))
    assert "faceseal frobnicate" in " ".join(_rendered(page).stdout.split())
    assert "faceseal frobnicate" not in (manpage.render(build_parser(EXTRA), __version__))


def test_the_page_says_uninstalling_leaves_data_and_keychain_alone(page: Path) -> None:
    text = " ".join(_rendered(page).stdout.split())
    assert "UNINSTALLING" in text
    assert "leaves your data folder" in text and "keychain alone" in text
    assert f"faceseal {__version__}" in text


def test_percent_signs_read_as_in_the_help(page: Path) -> None:
    """``--set``'s help says "1%%" to argparse: the page, like ``--help``, says 1% (and "1 %" stays as written)."""
    text = " ".join(_rendered(page).stdout.split())
    assert "rate: 1%, 0.1% or 0.01%" in text and "%%" not in text
    assert "a threshold for 1 %, 0.1 % or 0.01 % false accepts" in text
