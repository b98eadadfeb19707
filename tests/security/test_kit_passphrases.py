"""Issue 25, item 7: a recovery kit passphrase made of the words FaceSeal itself shows is refused.

The attack: ``faceseal-recovery-kit`` (zxcvbn 4), ``keybackuproot`` and ``root key
passphrase`` (3) were accepted, and a guesser joining two or three of the
product's words with four separators found such a passphrase in 269 tries.
Each is tried with the real ``faceseal key export`` and in the window's
Security page; a strong passphrase, even one holding a product word, still works.
"""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QFileDialog

from tests.app.conftest import window  # noqa: F401 (the window tests' fixture)
from tests.app.drive import answer_save_dialog, click
from tests.app.test_key_sovereignty import security_page
from tests.conftest import cli_fails, cli_json, enrol, tree_snapshot

PRODUCT_WORD_PASSPHRASES = ["faceseal-recovery-kit", "keybackuproot", "root key passphrase",
                            "Recovery_Kit_Root!", "vault key backup", "faceseal recovery kit 2026"]


@pytest.mark.parametrize("passphrase", PRODUCT_WORD_PASSPHRASES)
def test_a_passphrase_of_faceseals_own_words_is_refused(people, isolated, tmp_path, passphrase):
    enrol(people)
    before = tree_snapshot(isolated)
    kit = tmp_path / "kit.json"
    stderr = cli_fails(2, "words FaceSeal itself shows", "key", "export", "--out", str(kit),
                       extra_env={"FACESEAL_KIT_PASSPHRASE": passphrase})
    assert "too easy to guess" in stderr and passphrase not in stderr
    assert not kit.exists()
    assert tree_snapshot(isolated) == before


@pytest.mark.parametrize("passphrase", ["correct horse battery staple",
                                        "my faceseal kit: purple elephant tango ninety"])
def test_a_strong_passphrase_is_taken_even_with_a_product_word_in_it(people, isolated, tmp_path, passphrase):
    enrol(people)
    kit = tmp_path / "kit.json"
    answer = cli_json("key", "export", "--out", str(kit), extra_env={"FACESEAL_KIT_PASSPHRASE": passphrase})
    assert answer["status"] == "exported" and kit.exists()


def test_the_window_refuses_a_passphrase_of_faceseals_own_words(qtbot, monkeypatch, window, tmp_path):
    page = security_page(qtbot, window)
    asked: list[str] = []
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: asked.append("save") or ("", "")))
    qtbot.keyClicks(page.passphrase, "faceseal-recovery-kit")
    assert "words FaceSeal itself shows" in page.meter.verdict.text()
    assert page.meter.bar.value() < 3
    qtbot.keyClicks(page.passphrase_again, "faceseal-recovery-kit")
    click(qtbot, page.export_button)
    assert asked == [], "refused before the save dialog"
    assert "words FaceSeal itself shows" in page.banner.text.text()

    page.passphrase.clear()
    page.passphrase_again.clear()
    strong = "my faceseal kit: purple elephant tango ninety"
    qtbot.keyClicks(page.passphrase, strong)
    qtbot.keyClicks(page.passphrase_again, strong)
    kit = tmp_path / "kit.json"
    answer_save_dialog(monkeypatch, kit)
    click(qtbot, page.export_button)
    qtbot.waitUntil(lambda: "The recovery copy was written to" in page.banner.text.text(), timeout=60_000)
    assert kit.exists()
