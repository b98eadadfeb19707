"""``faceseal verify --liveness`` end to end: real CLI, real vault, real models, real video files."""

from __future__ import annotations

import json

from edge_core.liveness import draw_sequence
from tests.conftest import cli_json, run_cli

from .synthetic import PERSON, answerable_seeds


def verify(*args: str, seed: int | None = None):
    extra = None if seed is None else {"FACESEAL_LIVENESS_SEED": str(seed)}
    result = run_cli("verify", "alice", *args, "--json", extra_env=extra)
    return result.returncode, json.loads(result.stdout)


def verification_events() -> list[dict]:
    return [e for e in cli_json("audit", "list") if e["kind"] == "verification"]


def test_liveness_from_a_video_file_its_policy_audit_and_lockout(models_env, videos) -> None:
    cli_json("enroll", "--consent", "alice", "--image", str(PERSON))
    seed = answerable_seeds()[0]
    live = str(videos[f"live_{seed}"])

    code, answer = verify("--video", live, "--liveness", seed=seed)
    assert code == 0 and answer["match"] is True
    assert answer["live"] is False  # a file is never live, even when it answers the challenges
    assert answer["liveness"]["passed"] is True
    assert answer["liveness"]["challenges"] == [c.code for c in draw_sequence(seed)]
    assert "embedding" not in answer["liveness"] and "embedding" not in answer  # never a face template

    other = next(s for s in range(50) if draw_sequence(s) != draw_sequence(seed))
    code, answer = verify("--video", live, "--liveness", seed=other)
    assert code == 11 and answer["match"] is False and answer["liveness"]["passed"] is False

    code, answer = verify("--image", str(PERSON))
    assert code == 0 and answer["live"] is False and "liveness" not in answer

    events = verification_events()
    assert [(e["liveness"], e["live"], e["match"], e["source"]) for e in events] == [
        ("passed", False, True, "video"), ("failed", False, False, "video"), ("not_checked", False, True, "photo")]
    assert {e["person"] for e in events} == {"alice"}  # named in the listing while she is enrolled...
    assert "alice" not in json.dumps([{k: v for k, v in e.items() if k != "person"} for e in events])  # ...never stored

    cli_json("policy", "set", "lockout_attempts=2")
    assert verify("--video", str(videos["still"]), "--liveness", seed=seed)[0] == 11
    assert verify("--video", str(videos["still"]), "--liveness", seed=seed)[0] == 11
    code, answer = verify("--video", live, "--liveness", seed=seed)
    assert code == 1 and answer["kind"] == "VerificationLockedOut"


def test_a_camera_without_liveness_is_refused_by_the_default_policy(models_env) -> None:
    cli_json("enroll", "--consent", "alice", "--image", str(PERSON))
    result = run_cli("verify", "alice", "--camera", "0")
    assert result.returncode == 2
    assert "needs a liveness check: add --liveness" in result.stderr
    cli_json("policy", "set", "liveness_required=false")
    result = run_cli("verify", "alice", "--camera", "7")  # allowed now: on to the (absent) camera
    assert "no camera found at index 7" in result.stderr


def test_liveness_needs_a_moving_picture_and_a_whole_number_seed(models_env, videos) -> None:
    for command in (["verify", "alice"], ["identify"]):
        result = run_cli(*command, "--image", str(PERSON), "--liveness")
        assert result.returncode == 2, result.stderr
        assert "a liveness check needs a moving picture: a camera or a video file" in result.stderr
    cli_json("enroll", "--consent", "alice", "--image", str(PERSON))
    result = run_cli("verify", "alice", "--video", str(videos["still"]), "--liveness",
                     extra_env={"FACESEAL_LIVENESS_SEED": "abc"})
    assert result.returncode == 2 and "FACESEAL_LIVENESS_SEED must be a whole number" in result.stderr


def test_identify_with_liveness_from_a_video_file_is_audited(models_env, videos) -> None:
    cli_json("enroll", "--consent", "alice", "--image", str(PERSON))
    seed = answerable_seeds()[0]
    live = str(videos[f"live_{seed}"])
    passed = run_cli("identify", "--video", live, "--liveness", "--json", extra_env={"FACESEAL_LIVENESS_SEED": str(seed)})
    answer = json.loads(passed.stdout)
    assert passed.returncode == 0 and answer["name"] == "alice" and answer["liveness"]["passed"] is True
    assert answer["live"] is False  # a file is never live
    other = next(s for s in range(50) if draw_sequence(s) != draw_sequence(seed))
    failed = run_cli("identify", "--video", live, "--liveness", "--json", extra_env={"FACESEAL_LIVENESS_SEED": str(other)})
    assert failed.returncode == 11 and json.loads(failed.stdout)["match"] is False
    events = [e for e in cli_json("audit", "list") if e["kind"] == "identification"]
    assert [(e["liveness"], e["match"], e["source"]) for e in events] == [("passed", True, "video"),
                                                                          ("failed", False, "video")]
    assert events[0]["identities"] and "alice" not in json.dumps(events)


def test_the_risk_bands_live_in_the_policy_and_every_attempt_audits_its_band(models_env, videos) -> None:
    for bad in (["liveness_risk_low=0.7"], ["liveness_risk_low=0.01"], ["liveness_risk_high=0.99"],
                ["liveness_risk_low=0.5", "liveness_risk_high=0.5"]):
        refused = run_cli("policy", "set", *bad)
        assert refused.returncode != 0 and "liveness risk bands must satisfy" in refused.stderr, bad
    cli_json("enroll", "--consent", "alice", "--image", str(PERSON))
    seed = answerable_seeds()[0]
    code, answer = verify("--video", str(videos[f"live_{seed}"]), "--liveness", seed=seed)
    assert code == 0 and answer["liveness"]["band"] == "low" and answer["liveness"]["stepped_up"] is False
    cli_json("policy", "set", "liveness_risk_low=0.2", "liveness_risk_high=0.4")
    code, answer = verify("--video", str(videos["still"]), "--liveness", seed=seed)
    assert code == 11 and answer["liveness"]["band"] == "high"
    assert answer["liveness"]["reason"] == "the picture is frozen: the same frame over and over"
    passed, failed = verification_events()
    assert (passed["band"], passed["stepped_up"], "why" in passed) == ("low", False, False)
    assert (failed["band"], failed["refusal"], failed["why"]) == (
        "high", "frozen", "the picture is frozen: the same frame over and over")
    shown = cli_json("policy", "show")
    assert json.dumps(shown).count("liveness_risk_") >= 2
