"""Issue 25, item 10: ``audit verify --evidence`` reads only what can be evidence, and a database restored
without its key store is named, not an internal error.

Each attack is made with the real ``faceseal`` in a subprocess, under the memory
limit and timeout of :func:`run_limited`, so a regression fails the test
instead of hanging it or exhausting the machine.
"""

from __future__ import annotations

import shutil

from edge_core.audit.evidence import MAX_FILE
from edge_core.support.inputs import size_text
from tests.conftest import all_verify, cli_json, enrol, tree_snapshot
from tests.security.test_inputs_and_names import fifo, refused, run_limited  # noqa: F401 (fifo: a fixture)


def test_a_fifo_is_refused_as_evidence_without_waiting_for_a_writer(isolated, fifo):
    refused(run_limited("audit", "verify", "--evidence", str(fifo), timeout=30), 2, str(fifo), "not a regular file")


def test_a_device_is_refused_as_evidence_before_a_byte_is_read(isolated):
    refused(run_limited("audit", "verify", "--evidence", "/dev/zero", timeout=30), 2, "/dev/zero",
            "not a regular file")


def test_a_folder_is_refused_as_evidence(isolated, tmp_path):
    refused(run_limited("audit", "verify", "--evidence", str(tmp_path), timeout=30), 2, "a folder")


def test_evidence_over_the_cap_is_refused_and_the_cap_is_named(isolated, tmp_path):
    huge = tmp_path / "huge.zip"
    with huge.open("wb") as file:  # sparse: the size is what counts, the disk holds nothing
        file.truncate(MAX_FILE + 1)
    refused(run_limited("audit", "verify", "--evidence", str(huge), timeout=30), 2, str(huge),
            f"at most {size_text(MAX_FILE)}")


def test_a_device_is_refused_as_the_pinned_key_file(people, isolated, tmp_path):
    enrol(people)
    evidence = tmp_path / "evidence.zip"
    cli_json("audit", "export", "--out", str(evidence))
    refused(run_limited("audit", "verify", "--evidence", str(evidence), "--device-key", "/dev/zero", timeout=30), 2)


def test_an_old_database_beside_a_key_store_rotated_since_is_named_and_left_alone(people, isolated, tmp_path):
    """The issue's case: faceseal.db from before ``rotate-key --deep`` put back beside the current key store."""
    enrol(people)
    old = tmp_path / "old.db"
    shutil.copy2(isolated / "faceseal.db", old)
    cli_json("rotate-key", "--deep")
    current = tmp_path / "current.db"
    shutil.copy2(isolated / "faceseal.db", current)
    shutil.copy2(old, isolated / "faceseal.db")
    before = tree_snapshot(isolated)
    for command in (["status"], ["audit", "verify"], ["list"]):
        line = refused(run_limited(*command, timeout=120), 4, "faceseal.db", "keystore.json", "different times")
        assert "internal error" not in line
    assert tree_snapshot(isolated) == before  # refused before anything was re-wrapped or rewritten
    shutil.copy2(current, isolated / "faceseal.db")  # the matching pair works as before
    all_verify(people)
