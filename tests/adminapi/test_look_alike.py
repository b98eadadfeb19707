"""Enrolment through the admin API refuses a look-alike of someone enrolled (409) unless the body accepts it, as
every front end does (the rule is ``ops.enrol``'s; issue 34, part 3). Real photos, embedded once per module."""

from __future__ import annotations

import re
from collections.abc import Iterator

import numpy as np
import pytest

from tests.adminapi.conftest import Server
from tests.conftest import cli_json, serve_api, shared_or_skip

PACK = "yunet512"


@pytest.fixture(scope="module")
def faces(installed_models) -> dict[str, np.ndarray]:
    """{person: (4, d) embeddings} of three people's photos, by the default pack."""
    from edge_core.biometrics import load_pack, read_image
    from tests.app.media import photos_by_identity

    shared_or_skip("faces")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FACESEAL_MODELS", str(installed_models))
        pipeline = load_pack(PACK)
        return {person: np.stack([pipeline.embed_one(read_image(path), largest=True)[1] for path in paths[:4]])
                for person, paths in photos_by_identity().items()
                if person in ("barack_obama", "brad_pitt", "nicole_kidman")}


@pytest.fixture
def api(isolated, models_env) -> Iterator[Server]:
    with serve_api(isolated) as (base, token, process):
        yield Server(base, token, process, {})


def _enrol(api: Server, name: str, vectors: np.ndarray, **body) -> dict:
    consent = {} if body.get("add") else {"consent": api.consent()}
    answer = api.call("POST", "/enrol", json={"name": name, "embeddings": vectors.tolist(), "pack": PACK, **consent,
                                              **body})
    return {**answer.json(), "http": answer.status_code}


def test_the_same_photo_under_two_names_is_refused_until_the_body_accepts_it(api: Server, faces) -> None:
    obama, brad = faces["barack_obama"], faces["brad_pitt"]
    assert _enrol(api, "Barack Obama", obama[:2])["http"] == 200
    different = _enrol(api, "Brad Pitt", brad[:2])
    assert different["http"] == 200 and "resembles" not in different, "two clearly different people enrol"

    twin = _enrol(api, "Bruno Costa", obama[:1])  # the very photo Barack Obama was enrolled from
    assert twin["http"] == 409 and twin["kind"] == "LookAlikeEnrolled", twin
    assert twin["error"].startswith("Bruno Costa looks like Barack Obama, who is already enrolled")
    assert twin["error"].endswith('("allow_look_alike": true)') and not re.search(r"\d\.\d", twin["error"])
    assert [p["name"] for p in api.call("GET", "/identities").json()] == ["Barack Obama", "Brad Pitt"]
    adding = _enrol(api, "Brad Pitt", obama[2:3], add=True)
    assert adding["http"] == 409 and adding["error"].startswith("Brad Pitt looks like Barack Obama"), adding

    accepted = _enrol(api, "Bruno Costa", obama[:1], allow_look_alike=True)
    assert accepted["http"] == 200 and accepted["resembles"] == "Barack Obama", accepted
    events = [e for e in cli_json("audit", "list") if e["kind"] == "identity_enrolled"]
    assert events[-1]["look_alike"] == events[0]["identity"]
    assert [e.get("look_alike") for e in events[:-1]] == [None, None]


def test_an_enrolment_body_is_read_strictly(api: Server, faces) -> None:
    obama = faces["barack_obama"]
    for body in ({"name": "x", "embeddings": obama[:1].tolist(), "allow_look_alike": "yes"},
                 {"name": "x", "embeddings": []}, {"name": "x", "embeddings": [[1.0]]}):
        answer = api.call("POST", "/enrol", json=body)
        assert answer.status_code == 422 and answer.json()["kind"] == "InvalidRequest", (body, answer.text)
    ragged = api.call("POST", "/enrol", json={"name": "x", "embeddings": [[1.0, 0.0], [1.0, 0.0, 0.0]]})
    assert ragged.status_code == 400 and ragged.json() == {
        "error": "every embedding to enrol must have the same size; nothing was enrolled", "kind": "InvalidEmbedding"}
    assert api.call("GET", "/identities").json() == []
