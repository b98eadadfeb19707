"""Who signs in with their face, after that person is deleted: nobody, and every service off (audited)."""

from __future__ import annotations

from tests.conftest import cli_json, run_cli, who_and_where
from tests.liveness.synthetic import OTHER_PERSON, PERSON


def test_deleting_the_sign_in_person_turns_sign_in_off(models_env) -> None:
    for name, photo in (("alice", PERSON), ("brad", OTHER_PERSON)):
        assert run_cli("enroll", "--consent", name, "--image", str(photo)).returncode == 0
    for service in ("sudo", "polkit-1"):
        assert run_cli("signin", "enable", service, "--name", "alice").returncode == 0
    assert cli_json("delete-identity", "brad", "--yes")["name"] == "brad"  # someone else: the choice stays
    status = cli_json("signin", "status")
    assert who_and_where(status) == {"identity": "alice", "services": ["polkit-1", "sudo"]}
    assert status["note"].startswith("polkit-1 and sudo: the password still decides there")  # no face raises privileges
    assert cli_json("delete-identity", "alice", "--yes")["name"] == "alice"
    assert cli_json("signin", "status") == {"identity": None, "services": []}  # and no note
    [off] = [e for e in cli_json("audit", "list") if e["kind"] == "signin_disabled"]
    assert off["services"] == ["polkit-1", "sudo"] and off["reason"] == "the person was deleted"
    assert "alice" not in str(off)  # the audit log names identities by id, never by name
    # Enrolling someone of the same name again opts nothing in: the new person chooses for themself.
    assert run_cli("enroll", "--consent", "alice", "--image", str(PERSON)).returncode == 0
    assert who_and_where(cli_json("signin", "status")) == {"identity": None, "services": []}
