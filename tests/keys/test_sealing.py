"""The SENC v2 blob: layout byte for byte, binding to its template id, and fuzzing of the parser."""

from __future__ import annotations

import os
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge_core.errors import CorruptBlob
from edge_core.keys import sealing

KEY = bytes(range(32))
PLAINTEXT = os.urandom(512 * 4)


def test_layout_matches_docs_format():
    blob = sealing.seal(KEY, 7, "t1", PLAINTEXT)
    assert blob[:4] == b"SENC" == struct.pack(">I", 0x53454E43)
    assert blob[4] == 0x02
    assert struct.unpack(">I", blob[5:9])[0] == 7
    assert len(blob) == 37 + len(PLAINTEXT) + 16
    header = sealing.parse_header(blob)
    assert (header.key_version, header.salt, header.nonce) == (7, blob[9:25], blob[25:37])


def test_round_trip_and_fresh_salt_and_nonce_each_time():
    a, b = sealing.seal(KEY, 1, "t1", PLAINTEXT), sealing.seal(KEY, 1, "t1", PLAINTEXT)
    assert a[9:37] != b[9:37] and a[37:] != b[37:]
    assert sealing.open_blob(KEY, "t1", a) == PLAINTEXT == sealing.open_blob(KEY, "t1", b)


def test_blob_moved_to_another_template_does_not_open():
    blob = sealing.seal(KEY, 1, "t1", PLAINTEXT)
    with pytest.raises(CorruptBlob, match="failed authentication"):
        sealing.open_blob(KEY, "t2", blob)


@pytest.mark.parametrize("offset", range(0, 37 + 16 + 8, 3))
def test_any_flipped_byte_is_refused(offset):
    blob = bytearray(sealing.seal(KEY, 1, "t1", PLAINTEXT[:64]))
    blob[offset] ^= 0x01
    with pytest.raises(CorruptBlob):
        sealing.open_blob(KEY, "t1", bytes(blob))


def test_wrong_key_is_refused():
    blob = sealing.seal(KEY, 1, "t1", PLAINTEXT)
    with pytest.raises(CorruptBlob):
        sealing.open_blob(bytes(32), "t1", blob)


@pytest.mark.parametrize("blob", [b"", b"SENC", b"SENC\x02" + b"\0" * 40, b"XXXX" + b"\0" * 80,
                                  b"SENC\x01" + b"\0" * 80, b"SENC\x03" + b"\0" * 80])
def test_malformed_frames_are_typed_errors(blob):
    with pytest.raises(CorruptBlob):
        sealing.open_blob(KEY, "t1", blob)


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=200))
def test_fuzz_random_bytes_only_ever_raise_corrupt_blob(data):
    with pytest.raises(CorruptBlob):
        sealing.open_blob(KEY, "t1", data)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_fuzz_mutated_real_blobs_never_open_and_never_crash(data):
    blob = bytearray(sealing.seal(KEY, 3, "t1", PLAINTEXT[:128]))
    position = data.draw(st.integers(0, len(blob) - 1))
    blob[position] ^= data.draw(st.integers(1, 255))
    cut = data.draw(st.integers(0, len(blob)))
    with pytest.raises(CorruptBlob):
        sealing.open_blob(KEY, "t1", bytes(blob[:cut]) if cut < len(blob) else bytes(blob))
