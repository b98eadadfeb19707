"""Signed envelopes: build, verify, refuse, and an independent check of the documented form."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import uuid
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from edge_core.errors import InvalidKeyMaterial
from edge_core.telemetry import events as ev
from edge_core.telemetry.canonical import canonical_json
from edge_core.telemetry.device import DeviceKey
from edge_core.telemetry.envelope import build_envelope, verify_envelope
from edge_core.telemetry.errors import EnvelopeError, ForbiddenEvent


def make_events(n: int) -> list[ev.Event]:
    return [ev.operation(ev.Operation.VERIFY, ev.Outcome.MATCH, i % 5000) for i in range(n)]


def envelope_of(key: DeviceKey, n: int = 3) -> dict[str, object]:
    return build_envelope(key, str(uuid.uuid4()), ev.utc_timestamp(), make_events(n))


def independently_verify(line: str) -> dict[str, object]:
    """Verify with only json, base64, hashlib and cryptography, following docs/TELEMETRY.md."""
    envelope = json.loads(line)
    signature = base64.b64decode(envelope.pop("signature"), validate=True)
    public_raw = base64.b64decode(envelope["public_key"], validate=True)
    message = json.dumps(envelope, sort_keys=True, separators=(",", ":")).encode("utf-8")
    Ed25519PublicKey.from_public_bytes(public_raw).verify(signature, message)  # raises if bad
    assert str(uuid.UUID(bytes=hashlib.sha256(public_raw).digest()[:16])) == envelope["device_id"]
    return envelope


def test_device_key_round_trips_its_seed_and_derives_its_id() -> None:
    key = DeviceKey.generate()
    again = DeviceKey.from_seed(key.seed())
    assert again.device_id == key.device_id and again.public_key_b64 == key.public_key_b64
    raw = base64.b64decode(key.public_key_b64)
    assert key.device_id == str(uuid.UUID(bytes=hashlib.sha256(raw).digest()[:16]))
    assert DeviceKey.generate().device_id != key.device_id  # rotation yields a new id
    assert key.seed().hex() not in repr(key) and key.device_id in repr(key)
    for bad in (b"", b"x" * 31, b"x" * 33, "x" * 32):
        with pytest.raises(InvalidKeyMaterial) as caught:
            DeviceKey.from_seed(bad)  # type: ignore[arg-type]
        assert "x" * 31 not in str(caught.value)


def test_device_key_signs_only_its_own_envelopes(key: DeviceKey) -> None:
    unsigned = {k: v for k, v in envelope_of(key).items() if k != "signature"}
    other = DeviceKey.generate()
    for bad in (
        {"message": "hello"},
        {**unsigned, "extra": 1},
        {**unsigned, "device_id": other.device_id},
    ):
        with pytest.raises(ValueError):
            key.sign_batch(bad)


def test_built_envelope_verifies_here_and_independently(key: DeviceKey) -> None:
    envelope = envelope_of(key, 5)
    batch = verify_envelope(envelope)
    assert (batch.device_id, batch.public_key) == (key.device_id, key.public_key_b64)
    assert [e.as_dict() for e in batch.events] == envelope["events"]
    line = json.dumps(envelope, sort_keys=True, separators=(",", ":"))
    assert independently_verify(line)["batch_id"] == envelope["batch_id"]


def test_only_events_can_be_batched(key: DeviceKey) -> None:
    with pytest.raises(ForbiddenEvent):
        build_envelope(key, str(uuid.uuid4()), ev.utc_timestamp(), [{"kind": "app_started"}])  # type: ignore[list-item]
    with pytest.raises(ValueError):
        build_envelope(key, str(uuid.uuid4()), ev.utc_timestamp(), [])


def refusal(envelope: object) -> str:
    with pytest.raises(EnvelopeError) as caught:
        verify_envelope(envelope)
    return caught.value.code


def test_every_single_byte_change_to_the_signed_content_is_refused(key: DeviceKey) -> None:
    envelope = envelope_of(key, 2)
    line = json.dumps(envelope, sort_keys=True, separators=(",", ":"))
    start = line.index('"events"')
    for position in range(start, line.index('"public_key"')):
        if not line[position].isalnum():
            continue
        for replacement in "0a":
            if replacement == line[position]:
                continue
            tampered = line[:position] + replacement + line[position + 1 :]
            try:
                candidate = json.loads(tampered)
            except ValueError:
                continue
            assert refusal(candidate) in {"bad_signature", "malformed", "forbidden_event"}


def test_refusal_codes(key: DeviceKey) -> None:
    good = envelope_of(key)

    def changed(**fields: object) -> dict[str, object]:
        bad = copy.deepcopy(good)
        bad.update(fields)
        return bad

    unsigned = {k: v for k, v in good.items() if k != "signature"}
    assert refusal(unsigned) == "unsigned"
    assert refusal(changed(signature="")) == "unsigned"
    assert refusal(["not", "an", "object"]) == "malformed"
    assert refusal(changed(extra=1)) == "malformed"
    assert refusal(changed(v=2)) == "unsupported_version"
    assert refusal(changed(batch_id="batch-1")) == "malformed"
    assert refusal(changed(created_at=123)) == "malformed"
    assert refusal(changed(events=[])) == "malformed"
    assert refusal(changed(signature="!!notbase64")) == "malformed"
    assert refusal(changed(public_key=good["public_key"] + "A")) == "malformed"
    # Mis-attributed: a real key and signature, but another device's id.
    assert refusal(changed(device_id=DeviceKey.generate().device_id)) == "device_mismatch"
    # Another device's key and id, with this device's signature.
    other = DeviceKey.generate()
    assert (
        refusal(changed(device_id=other.device_id, public_key=other.public_key_b64))
        == "bad_signature"
    )
    assert refusal(changed(created_at="2000-01-01T00:00:00Z")) == "bad_signature"


def test_a_signed_envelope_with_forbidden_events_is_still_refused(key: DeviceKey) -> None:
    """A rogue client can sign anything; the verifier applies the vocabulary too."""
    unsigned = {k: v for k, v in envelope_of(key).items() if k != "signature"}
    unsigned["events"] = [
        {
            "kind": "app_started",
            "at": "2025-01-01T00:00:00Z",
            "app_version": "1.0",
            "embedding": [0.1, 0.2],
        }
    ]
    raw_signature = key._private.sign(  # noqa: SLF001 - a rogue signer, bypassing sign_batch
        json.dumps(unsigned, sort_keys=True, separators=(",", ":")).encode()
    )
    forged = {**unsigned, "signature": base64.b64encode(raw_signature).decode()}
    assert refusal(forged) == "forbidden_event"


def test_the_documented_example_is_byte_exact() -> None:
    """docs/TELEMETRY.md's example verifies independently and is what FaceSeal produces."""
    doc = (Path(__file__).resolve().parents[2] / "docs" / "TELEMETRY.md").read_text()
    line = doc.split("<!-- telemetry-example -->\n```\n", 1)[1].split("\n```", 1)[0]
    envelope = independently_verify(line)
    key = DeviceKey.from_seed(bytes(range(32)))
    events = [ev.Event(event) for event in envelope["events"]]  # type: ignore[union-attr]
    rebuilt = build_envelope(key, str(envelope["batch_id"]), str(envelope["created_at"]), events)
    assert canonical_json(rebuilt).decode("ascii") == line
