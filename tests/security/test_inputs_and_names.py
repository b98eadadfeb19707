"""Attacks on inputs, names, stored rows and scores, each reproduced with the real ``faceseal`` command.

* a camera index OpenCV cannot take (``--camera -1`` crashed it);
* endless or huge inputs (``/dev/zero``, a FIFO, a PNG or .npy header claiming
  billions of values) that exhausted memory or hung;
* look-alike names (zero-width, bidi, C1 controls, line separators, invalid UTF-8);
* rows edited by someone holding the database key (swapped names, an edited
  dimension, a corrupt template);
* the similarity score of a no-match, an oracle to hill-climb a probe.

Commands that read hostile input run under an address-space limit, so a
regression fails the test instead of exhausting the machine's memory.
"""

from __future__ import annotations

import json
import os
import resource
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest

from edge_core import ops
from tests.conftest import REPO, cli_json, enrol, probe, run_cli, shared_or_skip, tree_snapshot

MEMORY_LIMIT = 3 << 30
"""Address space a command may use in these tests (a normal identify needs far less)."""


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def run_limited(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """``faceseal args`` with a memory limit; a hang becomes a failed command (exit -9), not a stuck test."""
    command = [sys.executable, "-m", "app.launcher", *args]
    try:
        return subprocess.run(command, capture_output=True, text=True, env=dict(os.environ), cwd=REPO,
                              timeout=timeout, preexec_fn=_limit_memory)
    except subprocess.TimeoutExpired as expired:
        return subprocess.CompletedProcess(command, -9, "", f"hung for {timeout}s: {expired}")


def refused(result: subprocess.CompletedProcess, code: int, *words: str) -> str:
    """The command failed with ``code`` and one clean line containing every word of ``words``."""
    assert result.returncode == code, (result.returncode, result.stderr[-2000:])
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def _save(folder: Path, name: str, vector: np.ndarray) -> str:
    path = folder / f"{name}.npy"
    np.save(path, np.asarray(vector, dtype=np.float32))
    return str(path)


# ----------------------------------------------------------------- 1. camera index
@pytest.mark.parametrize("index", ["-1", "64", "99999999999999999999"])
def test_a_camera_index_out_of_range_is_refused_before_opencv_sees_it(models_env, isolated, index):
    result = run_limited("enroll", "--consent", "alice", "--camera", index, "--samples", "1")
    refused(result, 2, "camera index")
    assert not isolated.exists() or not any(isolated.rglob("faceseal.db"))


# ----------------------------------------------------------------- 2. endless or huge inputs
def _png_claiming(width: int, height: int) -> bytes:
    """A small PNG whose header claims ``width`` x ``height`` pixels (a decompression bomb's header)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    body = zlib.compress(b"\0" * (1 + 3 * width) * 64, 9)  # the first rows only; the decoder allocates it all
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")


def _jpeg_claiming(width: int, height: int) -> bytes:
    """A JPEG frame header (SOF0) claiming ``width`` x ``height``, with an end marker."""
    sof = struct.pack(">HBHHB", 17, 8, height, width, 3) + b"\x01\x22\x00\x02\x11\x01\x03\x11\x01"
    return b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xc0" + sof + b"\xff\xd9"


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "probe.fifo"
    os.mkfifo(path)
    return path


@pytest.mark.parametrize("command", [["identify"], ["enroll", "--consent", "mallory"]])
def test_a_fifo_or_a_device_is_refused_as_an_image(models_env, isolated, fifo, command):
    for source in (str(fifo), "/dev/zero"):
        refused(run_limited(*command, "--image", source, timeout=20), 2, source, "regular file")


def test_a_fifo_or_a_device_is_refused_as_a_video(models_env, isolated, fifo):
    for source in (str(fifo), "/dev/zero"):
        refused(run_limited("identify", "--video", source, timeout=20), 2, source, "regular file")


def test_a_fifo_or_a_device_is_refused_as_an_embedding(isolated, fifo):
    for source in (str(fifo), "/dev/zero"):
        refused(run_limited("enroll", "--consent", "mallory", "--embedding", source, timeout=20), 2, source, "regular file")


@pytest.mark.parametrize("kind", ["png", "jpeg"])
def test_an_image_claiming_too_many_pixels_is_refused_before_decoding(models_env, isolated, tmp_path, kind):
    bomb = tmp_path / f"bomb.{kind}"
    bomb.write_bytes(_png_claiming(25000, 25000) if kind == "png" else _jpeg_claiming(25000, 25000))
    refused(run_limited("identify", "--image", str(bomb)), 2, "bomb", "megapixels")
    refused(run_limited("enroll", "--consent", "mallory", "--image", str(bomb)), 2, "bomb", "megapixels")


def test_an_image_file_too_large_is_refused_before_reading(models_env, isolated, tmp_path):
    big = tmp_path / "huge.jpg"
    with big.open("wb") as out:  # sparse: 60 MB on paper, nothing on disk
        out.write(b"\xff\xd8\xff")
        out.truncate(60 * 1000 * 1000)
    refused(run_limited("identify", "--image", str(big)), 2, "huge.jpg", "MiB")


def test_an_ordinary_photo_still_works_under_the_caps(models_env, isolated):
    photo = shared_or_skip("faces", "deepface", "img2.jpg")
    result = run_limited("identify", "--image", str(photo), "--json")
    assert result.returncode == 10, result.stderr  # nobody is enrolled: a no-match, not a refusal


def test_an_npy_header_claiming_a_huge_shape_is_refused_before_allocating(isolated, tmp_path):
    home = isolated
    enrol({"alice": np.ones((1, 8), np.float32)})
    before = tree_snapshot(home)
    bomb = tmp_path / "bomb.npy"
    with bomb.open("wb") as out:
        np.lib.format.write_array_header_1_0(out, {"descr": "<f4", "fortran_order": False, "shape": (1, 10**11)})
        out.write(b"\0" * 64)
    refused(run_limited("enroll", "--consent", "mallory", "--embedding", str(bomb)), 2, "bomb.npy")
    refused(run_limited("verify", "alice", "--embedding", str(bomb)), 2, "bomb.npy")
    wide = tmp_path / "wide.npy"
    with wide.open("wb") as out:
        np.lib.format.write_array_header_2_0(out, {"descr": "<f8", "fortran_order": False, "shape": (10**6, 10**6)})
    refused(run_limited("enroll", "--consent", "mallory", "--embedding", str(wide)), 2, "wide.npy")
    assert tree_snapshot(home) == before


def test_an_npy_file_too_large_is_refused_before_reading(isolated, tmp_path):
    big = tmp_path / "big.npy"
    with big.open("wb") as out:
        np.lib.format.write_array_header_1_0(out, {"descr": "<f4", "fortran_order": False, "shape": (64, 4096)})
        out.truncate(20 * 1024 * 1024)
    refused(run_limited("enroll", "--consent", "mallory", "--embedding", str(big)), 2, "big.npy", "MiB")


# ----------------------------------------------------------------- 3. look-alike names
LOOKALIKES = {
    "zero-width space": "alice\u200b",
    "zero-width joiner": "al\u200dice",
    "bidi override": "\u202eecila",
    "bidi isolate": "alice\u2066",
    "C1 control": "ali\u0085ce",
    "line separator": "ali\u2028ce",
    "paragraph separator": "ali\u2029ce",
    "private use": "alice\ue000",
    "byte order mark": "\ufeffalice",
    "no-break space": "alice\u00a0b",
}


@pytest.mark.parametrize("name", LOOKALIKES.values(), ids=LOOKALIKES.keys())
def test_a_name_with_invisible_or_control_characters_is_refused(isolated, tmp_path, name):
    vector = _save(tmp_path, "v", np.ones(8))
    assert cli_json("enroll", "--consent", "alice", "--embedding", vector)["status"] == "enrolled"
    before = tree_snapshot(isolated)
    refused(run_cli("enroll", "--consent", name, "--embedding", vector, check_clean=False), 2, "name")
    assert tree_snapshot(isolated) == before
    assert [i["name"] for i in cli_json("list")] == ["alice"]


def test_a_name_of_invalid_utf8_is_refused_not_a_crash(isolated, tmp_path):
    vector = _save(tmp_path, "v", np.ones(8))
    assert cli_json("enroll", "--consent", "alice", "--embedding", vector)["status"] == "enrolled"
    before = tree_snapshot(isolated)
    result = subprocess.run([sys.executable, "-m", "app.launcher", "enroll", "--consent", b"al\xffice", "--embedding", vector],
                            capture_output=True, env=dict(os.environ), cwd=REPO, timeout=120)
    assert result.returncode == 2, result.stderr
    assert b"Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert tree_snapshot(isolated) == before


def test_the_core_refuses_a_name_with_lone_surrogates(isolated):
    """What Python makes of invalid UTF-8 on a command line reaches the core as lone surrogates."""
    from edge_core.errors import UsageError

    with ops.open_vault() as vault:
        with pytest.raises(UsageError, match="name"):
            ops.enrol(vault, "al\udcffice", probe(np.ones((1, 8))))
        with pytest.raises(UsageError):
            ops.verify(vault, "al\udcffice", probe(np.ones(8)))
        assert ops.list_identities(vault) == []


def test_names_are_stored_in_nfc_and_found_in_either_form(isolated, tmp_path):
    vector = _save(tmp_path, "v", np.ones(8))
    decomposed, composed = "Zoe\u0308", "Zo\u00eb"
    assert cli_json("enroll", "--consent", decomposed, "--embedding", vector)["name"] == composed
    assert [i["name"] for i in cli_json("list")] == [composed]
    refused(run_cli("enroll", "--consent", composed, "--embedding", vector, check_clean=False), 1, "already enrolled")
    assert cli_json("verify", composed, "--embedding", vector)["match"] is True
    assert cli_json("verify", decomposed, "--embedding", vector)["match"] is True
    assert cli_json("delete-identity", decomposed, "--yes")["status"] == "deleted"
    assert cli_json("list") == []


# ----------------------------------------------------------------- 4. rows edited with the database key
@pytest.fixture
def three(isolated) -> dict:
    rng = np.random.default_rng(7)
    people = {}
    for name in ("alice", "bob", "carol"):  # two samples of one face, each close to the other
        face = rng.normal(size=32)
        people[name] = np.stack([face + 0.1 * rng.normal(size=32) for _ in range(2)]).astype(np.float32)
    enrol(people)
    return people


def _ids() -> dict[str, str]:
    with ops.open_vault() as vault:
        return {name: identity for identity, name in vault.identity_names().items()}


def _swap_names(a: str, b: str) -> None:
    with ops.open_vault() as vault:
        conn = vault.conn
        conn.execute("UPDATE identities SET name = '~swap' WHERE name = ?", (a,))
        conn.execute("UPDATE identities SET name = ? WHERE name = ?", (a, b))
        conn.execute("UPDATE identities SET name = ? WHERE name = '~swap'", (b,))


def test_swapping_two_names_in_the_database_is_detected(three, tmp_path):
    ids = _ids()
    _swap_names("alice", "bob")
    bob_probe = _save(tmp_path, "bob", three["bob"][0])
    # Before: bob's face verified as "alice" (his templates now carried her name).
    line = refused(run_cli("verify", "alice", "--embedding", bob_probe, check_clean=False), 4, ids["bob"])
    assert "name" in line
    refused(run_cli("verify", "bob", "--embedding", bob_probe, check_clean=False), 4, ids["alice"])
    # Everyone else is still identified; the swapped identities are skipped and reported.
    answer = cli_json("identify", "--embedding", _save(tmp_path, "carol", three["carol"][0]))
    assert answer["match"] is True and answer["name"] == "carol" and answer["skipped"] == 4


def _unbind_names() -> None:
    """Make the vault look like one written before names were bound: identity keys wrapped without the name."""
    from edge_core.keys import material

    with ops.open_vault() as vault:
        conn = vault.conn
        for identity, name, version, wrapped in conn.execute(
                "SELECT id, name, key_version, wrapped_key FROM identities").fetchall():
            key = vault.unwrap_identity_key(identity, name, version, bytes(wrapped))
            old = material.aead_wrap(vault.keys.vault[version], key, f"faceseal/identity/v1:{identity}:{version}".encode())
            conn.execute("UPDATE identities SET wrapped_key = ? WHERE id = ?", (old, identity))
        conn.execute("DELETE FROM meta WHERE key = 'identity_wraps'")


def test_a_vault_from_before_is_migrated_once_and_then_detects_a_swap(three, tmp_path):
    ids = _ids()
    _unbind_names()
    probes = {name: _save(tmp_path, name, vectors[0]) for name, vectors in three.items()}
    for name in three:  # the first open binds the names; everyone still verifies
        assert cli_json("verify", name, "--embedding", probes[name])["match"] is True
    assert cli_json("rotate-key", "--deep")["deep"] is True  # the rotation keeps the names bound
    for name in three:
        assert cli_json("verify", name, "--embedding", probes[name])["match"] is True
    _swap_names("alice", "bob")
    refused(run_cli("verify", "alice", "--embedding", probes["bob"], check_clean=False), 4, ids["bob"])


def test_a_template_with_an_edited_dimension_is_reported_as_damaged(three, tmp_path):
    with ops.open_vault() as vault:
        ids = {name: identity for identity, name in vault.identity_names().items()}
        first, second = [r[0] for r in vault.conn.execute(
            "SELECT id FROM templates WHERE identity_id = ? ORDER BY id", (ids["alice"],))]
        vault.conn.execute("UPDATE templates SET dim = 999 WHERE id = ?", (first,))
    alice = _save(tmp_path, "alice", three["alice"][0])
    answer = cli_json("identify", "--embedding", alice)
    assert answer["name"] == "alice" and answer["skipped"] == 1
    answer = cli_json("verify", "alice", "--embedding", alice)
    assert answer["match"] is True and answer["skipped"] == 1
    with ops.open_vault() as vault:
        vault.conn.execute("UPDATE templates SET dim = 16 WHERE id = ?", (second,))
    line = refused(run_cli("verify", "alice", "--embedding", alice, check_clean=False), 4, "damaged")
    assert "alice" in line


def _corrupt(template_id: str) -> None:
    with ops.open_vault() as vault:
        blob = bytearray(vault.conn.execute("SELECT blob FROM templates WHERE id = ?", (template_id,)).fetchone()[0])
        blob[-1] ^= 0x01
        vault.conn.execute("UPDATE templates SET blob = ? WHERE id = ?", (bytes(blob), template_id))


def test_one_corrupt_template_does_not_stop_identify_for_everyone(three, tmp_path):
    ids = _ids()
    with ops.open_vault() as vault:
        broken = vault.conn.execute("SELECT id FROM templates WHERE identity_id = ? LIMIT 1",
                                    (ids["alice"],)).fetchone()[0]
    _corrupt(broken)
    probes = {name: _save(tmp_path, name, vectors[0]) for name, vectors in three.items()}
    for _attempt in range(2):
        for name in ("bob", "carol"):
            answer = cli_json("identify", "--embedding", probes[name])
            assert answer["name"] == name and answer["match"] is True and answer["skipped"] == 1
    # alice still verifies from her other template, and the answer says one was skipped
    answer = cli_json("verify", "alice", "--embedding", _save(tmp_path, "alice2", three["alice"][1]))
    assert answer["match"] is True and answer["skipped"] == 1
    text = run_cli("verify", "alice", "--embedding", _save(tmp_path, "alice3", three["alice"][1]))
    assert text.returncode == 0 and "skipped: 1" in text.stdout
    events = [e for e in cli_json("audit", "list") if e["kind"] == "template_unreadable"]
    assert len(events) == 1 and events[0]["template"] == broken and events[0]["identity"] == ids["alice"]
    assert "alice" not in json.dumps({k: v for k, v in events[0].items() if k != "person"})
    assert cli_json("audit", "verify")["status"] == "intact"


# ----------------------------------------------------------------- 5. no score on a no-match
def test_a_no_match_shows_no_score(three, tmp_path):
    mallory = _save(tmp_path, "mallory", np.random.default_rng(99).normal(size=32))
    for args in (["verify", "alice"], ["identify"]):
        result = run_cli(*args, "--embedding", mallory, "--json")
        assert result.returncode == 10, result.stderr
        assert json.loads(result.stdout)["score"] is None
        text = run_cli(*args, "--embedding", mallory)
        assert text.returncode == 10 and "score: None" in text.stdout
    match = cli_json("verify", "alice", "--embedding", _save(tmp_path, "alice", three["alice"][0]))
    assert match["match"] is True and match["score"] > 0.9


def test_the_diagnostic_flag_shows_the_score_and_is_audited(three, tmp_path):
    mallory = _save(tmp_path, "mallory", np.random.default_rng(99).normal(size=32))
    answer = cli_json("verify", "alice", "--embedding", mallory, "--show-score", code=10)
    assert isinstance(answer["score"], float)
    answer = cli_json("identify", "--embedding", mallory, "--show-score", code=10)
    assert isinstance(answer["score"], float)
    events = [e for e in cli_json("audit", "list") if e["kind"] in ("verification", "identification")]
    assert [e.get("diagnostic") for e in events] == [True, True]
    cli_json("verify", "alice", "--embedding", mallory, code=10)
    events = [e for e in cli_json("audit", "list") if e["kind"] == "verification"]
    assert "diagnostic" not in events[-1]


def test_the_faces_of_a_group_photo_that_do_not_match_show_no_score(three):
    rng = np.random.default_rng(5)
    stranger = rng.normal(size=32).astype(np.float32)
    group = ops.Probe(ops.Source.PHOTO, ops.EXTERNAL_PACK, ops.EXTERNAL_THRESHOLD, three["bob"][:1],
                      faces=(([0, 0, 10, 10], three["bob"][0]), ([20, 0, 30, 10], stranger)))
    with ops.open_vault() as vault:
        decision = ops.identify(vault, group)
        shown = ops.identify(vault, group, show_score=True)
    bob, other = decision.faces
    assert bob.match and bob.score is not None
    assert not other.match and other.score is None and decision.as_dict()["faces"][1]["score"] is None
    assert shown.faces[1].score is not None


def test_the_window_shows_no_score_on_a_no_match(three):
    from app.verdict import verdict

    stranger = probe(np.random.default_rng(99).normal(size=32))
    with ops.open_vault() as vault:
        missed = ops.verify(vault, "alice", stranger)
        unknown = ops.identify(vault, stranger)
        matched = ops.verify(vault, "alice", probe(three["alice"][0]))
    for decision, verifying in ((missed, True), (unknown, False)):
        shown = verdict(decision, verifying, ops.Source.PHOTO)
        assert shown.outcome == "nomatch" and shown.headline.startswith("No match")
        assert "score" not in shown.details.lower()
    assert "score" in verdict(matched, True, ops.Source.PHOTO).details
