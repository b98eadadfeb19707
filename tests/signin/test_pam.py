"""sudo's path, for real: pamtester → pam_exec → faceseal-pam → the user's agent → the use cases → the audit log."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import threading
import time

from edge_core.agent.client import ask
from tests.conftest import who_and_where
from tests.liveness.synthetic import PERSON, answerable_seeds
from tests.signin.conftest import USER_PYTHON, wait_for

SEED = answerable_seeds()[0]


def enrolled(user, service) -> None:
    """``alice`` (PERSON) enrolled as this login's face, opted in for ``service``."""
    enrol = user.run("enroll", "--consent", "alice", "--image", str(PERSON), "--json")
    assert enrol.returncode == 0, enrol.stderr
    enable = user.run("signin", "enable", service.name, "--name", "alice", "--json")
    assert enable.returncode == 0, enable.stderr
    assert json.loads(enable.stdout) == {"identity": "alice", "services": [service.name]}
    relaxed = user.run("policy", "set", "signin_timeout_s=60")  # a busy machine: the attempt is not hurried
    assert relaxed.returncode == 0, relaxed.stderr


def signin_events(user) -> list[dict]:
    listing = user.run("audit", "list", "--json")
    assert listing.returncode == 0, listing.stderr
    return [e for e in json.loads(listing.stdout) if e["kind"] == "signin"]


def test_a_live_enrolled_face_signs_in_and_the_attempt_is_audited(agent_user, pam_service, videos) -> None:
    enrolled(agent_user, pam_service)
    agent_user.start_agent(videos[f"live_{SEED}"], SEED)
    result = pam_service.authenticate(agent_user.name, "tty=/dev/pts/7")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "FaceSeal: recognised" in result.stdout + result.stderr
    [event] = signin_events(agent_user)
    assert (event["service"], event["tty"], event["outcome"], event["liveness"], event["band"]) == (
        pam_service.name, "/dev/pts/7", "accepted", "passed", "low")
    status = agent_user.run("agent", "status", "--json")
    assert status.returncode == 0, status.stderr
    last = json.loads(status.stdout)["last"]
    assert (last["service"], last["accepted"]) == (pam_service.name, True)


def test_a_photo_held_still_is_refused_and_the_password_follows(agent_user, pam_service, videos) -> None:
    enrolled(agent_user, pam_service)
    agent_user.start_agent(videos["still"], SEED)
    result = pam_service.authenticate(agent_user.name)
    assert result.returncode != 0 and "Authentication failure" in result.stderr + result.stdout
    [event] = signin_events(agent_user)
    assert (event["outcome"], event["liveness"]) == ("rejected", "failed")


def test_refused_before_the_camera_opens(agent_user, pam_service, videos) -> None:
    """A remote session, a service not opted in, and no agent at all: each is a plain password prompt."""
    enrolled(agent_user, pam_service)
    quiet = pam_service.authenticate(agent_user.name)  # no agent running
    assert quiet.returncode != 0 and "FaceSeal" not in quiet.stdout + quiet.stderr
    agent_user.start_agent(videos[f"live_{SEED}"], SEED)
    for remote in ("rhost=198.51.100.7", "tty=ssh"):
        result = pam_service.authenticate(agent_user.name, remote)
        assert result.returncode != 0 and "not a remote session" in result.stdout + result.stderr, remote
    disable = agent_user.run("signin", "disable", pam_service.name)
    assert disable.returncode == 0, disable.stderr
    result = pam_service.authenticate(agent_user.name)
    assert result.returncode != 0 and "FaceSeal" not in result.stdout + result.stderr  # not opted in: not a word
    events = signin_events(agent_user)  # each attempt is audited, a remote one too (the agent decides, not PAM)
    assert [e["outcome"] for e in events] == ["refused"] * 3, events
    assert sorted(e["why"].split("(")[-1] for e in events if "remote session" in e["why"]) == [
        "an SSH terminal asks)", "the remote host 198.51.100.7 asks)"]
    assert any("not enabled" in e["why"] for e in events)


def test_an_agent_killed_mid_attempt_lets_the_password_follow(agent_user, pam_service, videos) -> None:
    enrolled(agent_user, pam_service)
    agent = agent_user.start_agent(videos[f"live_{SEED}"], SEED)
    threading.Timer(1.0, agent.kill).start()
    started = time.monotonic()
    result = pam_service.authenticate(agent_user.name)
    assert result.returncode != 0
    assert time.monotonic() - started < 60, "the helper waited for a dead agent"  # the helper's own timeout, not a tuning


def test_only_the_user_and_root_are_answered(agent_user, pam_service, videos) -> None:
    """Another user's process on the socket is told nothing, and that is audited."""
    enrolled(agent_user, pam_service)
    agent_user.start_agent(videos[f"live_{SEED}"], SEED)
    for folder in (agent_user.socket.parent.parent, agent_user.socket.parent):
        os.chmod(folder, 0o755)  # even with the folders left open, the kernel's word on the peer holds
    os.chmod(agent_user.socket, 0o777)
    code = ("import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); "
            "s.sendall(b'{\"op\":\"status\"}\\n')\ntry: print(repr(s.recv(100)))\n"
            "except ConnectionResetError: print(repr(b''))  # closed with the question unread: told nothing all the same")
    other = subprocess.run([str(USER_PYTHON), "-c", code, str(agent_user.socket)], capture_output=True, text=True,
                           user="nobody", group="nogroup", extra_groups=[], timeout=60, cwd="/")
    assert other.returncode == 0, other.stderr
    assert other.stdout.strip() == "b''", "another user was answered"
    os.chmod(agent_user.socket.parent.parent, 0o700)
    listing = agent_user.run("audit", "list", "--json")
    assert [e for e in json.loads(listing.stdout) if e["kind"] == "agent_refused"][0]["peer_uid"] == 65534


def test_a_socket_planted_by_another_user_is_never_spoken_to(agent_user, pam_service, tmp_path) -> None:
    """Root (or anyone but the user) listening at the user's socket path: the helper refuses it unasked."""
    folder = agent_user.socket.parent
    folder.mkdir(mode=0o700, exist_ok=True)
    told: list[bytes] = []
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as planted:
        planted.bind(str(agent_user.socket))  # root's socket, in the user's folder
        planted.listen(1)
        planted.settimeout(0.5)

        def accept() -> None:
            try:
                conn, _ = planted.accept()
                told.append(conn.recv(1000))
            except OSError:
                pass

        listener = threading.Thread(target=accept)
        listener.start()
        result = pam_service.authenticate(agent_user.name)
        listener.join()
    os.unlink(agent_user.socket)
    assert result.returncode != 0 and told == []


def test_one_attempt_at_a_time(agent_user, pam_service, videos) -> None:
    """Two sudo prompts at once: one looks at the camera, the other is told it is busy (its password follows).

    The second asks as the PAM helper does (root, on the user's behalf) the moment the agent says it is busy."""
    enrolled(agent_user, pam_service)
    agent_user.start_agent(videos[f"live_{SEED}"], SEED)
    results = []
    first = threading.Thread(target=lambda: results.append(pam_service.authenticate(agent_user.name)))
    first.start()
    status = {"op": "status"}
    wait_for(lambda: ask(agent_user.socket, agent_user.uid, status, timeout=10)["status"]["busy"], timeout=120)
    second = ask(agent_user.socket, agent_user.uid, {"op": "signin", "user": agent_user.name,
                                                      "service": pam_service.name}, timeout=10)
    first.join()
    assert results[0].returncode == 0, results[0].stdout
    assert second == {"done": True, "accepted": False, "busy": True, "why": "another face sign-in is in progress"}


def test_a_locked_vault_and_the_lockout_refuse_before_the_camera(agent_user, pam_service, videos) -> None:
    enrolled(agent_user, pam_service)
    assert agent_user.run("policy", "set", "lockout_attempts=1").returncode == 0
    agent_user.start_agent(videos["still"], SEED)
    assert pam_service.authenticate(agent_user.name).returncode != 0  # a failed attempt: the lockout's one
    locked_out = pam_service.authenticate(agent_user.name)
    assert locked_out.returncode != 0 and "too many failed" in locked_out.stdout
    assert agent_user.run("lock").returncode == 0
    locked = pam_service.authenticate(agent_user.name)
    assert locked.returncode != 0 and "locked" in locked.stdout
    assert agent_user.run("unlock").returncode == 0
    assert [e["outcome"] for e in signin_events(agent_user)] == ["rejected", "refused"]  # the lock: no vault to write


def test_the_stand_in_video_is_refused_outside_the_test_suite(agent_user, videos) -> None:
    proc = agent_user.run("agent", "run", FACESEAL_AGENT_TEST_CAMERA=str(videos["still"]))
    assert proc.returncode == 2 and "for the test suite only" in proc.stderr and "Traceback" not in proc.stderr


def test_signin_choices_in_the_cli(agent_user) -> None:
    assert agent_user.run("enroll", "--consent", "alice", "--image", str(PERSON)).returncode == 0
    unknown = agent_user.run("signin", "enable", "sshd", "--name", "alice")
    assert unknown.returncode == 2 and "not a service face sign-in knows" in unknown.stderr
    nobody = agent_user.run("signin", "enable", "sudo", "--name", "bob")
    assert nobody.returncode != 0 and len(nobody.stderr.strip().splitlines()) == 1
    assert agent_user.run("signin", "enable", "sudo", "--name", "alice").returncode == 0
    both = agent_user.run("signin", "enable", "polkit-1", "--name", "alice", "--json")
    assert who_and_where(json.loads(both.stdout)) == {"identity": "alice", "services": ["polkit-1", "sudo"]}
    never = agent_user.run("signin", "disable", "su")
    assert never.returncode == 2 and "not enabled for 'su'" in never.stderr
    status = agent_user.run("signin", "status", "--json")
    assert who_and_where(json.loads(status.stdout)) == {"identity": "alice", "services": ["polkit-1", "sudo"]}
    absent = agent_user.run("agent", "status")
    assert absent.returncode == 1 and "no FaceSeal agent is running" in absent.stderr


def test_the_pam_helper_holds_nothing_to_lose() -> None:
    """faceseal-pam runs as root inside sudo: it loads no vault, key, model or image library."""
    import subprocess as sp
    import sys

    code = ("import sys, edge_core.agent.pam; heavy = {'numpy', 'cv2', 'onnxruntime', 'sqlcipher3', 'cryptography', "
            "'keyring', 'edge_core.ops', 'edge_core.vault', 'edge_core.keys'} & set(sys.modules); print(sorted(heavy))")
    assert sp.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "[]"


def test_try_it_now_is_a_real_attempt_that_unlocks_nothing(agent_user, videos) -> None:
    """``signin try`` (the window's "Try it now") needs a person chosen, not a service; it is audited as one."""
    assert agent_user.run("enroll", "--consent", "alice", "--image", str(PERSON)).returncode == 0
    agent_user.start_agent(videos[f"live_{SEED}"], SEED)
    nobody = agent_user.run("signin", "try")
    assert nobody.returncode == 1 and "nobody is chosen for face sign-in" in nobody.stderr
    assert agent_user.run("signin", "enable", "sudo", "--name", "alice").returncode == 0
    assert agent_user.run("signin", "disable", "sudo").returncode == 0  # a person chosen, no service opted in
    assert agent_user.run("policy", "set", "signin_timeout_s=60").returncode == 0
    tried = agent_user.run("signin", "try", "--json")
    assert tried.returncode == 0, tried.stderr
    answer = json.loads(tried.stdout)
    assert (answer["accepted"], answer["name"], answer["band"]) == (True, "alice", "low") and "score" not in answer
    assert "FaceSeal: " in tried.stderr  # the prompts, as the terminal of sudo would show them
    history = json.loads(agent_user.run("signin", "history", "--json").stdout)
    assert [(e["service"], e["outcome"]) for e in history] == [
        ("try-it-now", "accepted"), ("try-it-now", "refused")]


def test_the_policy_says_how_long_an_attempt_looks(agent_user, pam_service, videos) -> None:
    """signin_timeout_s (policy, 3 to 60 s) is announced to the caller before the camera opens: the PAM helper waits
    that long and no longer (the PAM line's --timeout caps it)."""
    enrolled(agent_user, pam_service)
    refused = agent_user.run("policy", "set", "signin_timeout_s=2")
    assert refused.returncode == 2 and "signin_timeout_s must be between 3 and 60" in refused.stderr
    assert agent_user.run("policy", "set", "signin_timeout_s=45").returncode == 0
    agent_user.start_agent(videos[f"live_{SEED}"], SEED)
    heard: list[dict] = []
    answer = ask(agent_user.socket, agent_user.uid, {"op": "signin", "user": agent_user.name,
                                                      "service": pam_service.name}, timeout=30, on_message=heard.append)
    assert heard[0] == {"wait": 45} and answer["accepted"] is True


def test_no_camera_is_said_in_sign_in_words_and_audited(agent_user, pam_service) -> None:
    """A camera that is not there: the attempt fails in words that fit sign-in (not --image/--video), it is in the
    history and the audit log as failed (not counted: no face was judged), and the agent's status says why."""
    enrolled(agent_user, pam_service)
    agent_user.start_agent(None, None, "--camera", "63")  # no machine has a 64th camera
    tried = agent_user.run("signin", "try")
    assert tried.returncode == 1 and "the agent found no camera (camera 63)" in tried.stderr, tried.stderr
    assert "--image" not in tried.stderr and "faceseal agent run --camera CAMERA" in tried.stderr
    sudo = pam_service.authenticate(agent_user.name)
    assert sudo.returncode != 0 and "FaceSeal: the agent found no camera" in sudo.stdout
    history = json.loads(agent_user.run("signin", "history", "--json").stdout)
    assert [(e["service"], e["outcome"]) for e in history] == [(pam_service.name, "failed"), ("try-it-now", "failed")]
    last = json.loads(agent_user.run("agent", "status", "--json").stdout)["last"]
    assert (last["accepted"], last["service"]) == (False, pam_service.name) and "no camera" in last["why"]


def test_an_agent_without_a_runtime_folder_says_so(agent_user) -> None:
    result = agent_user.run("agent", "run", XDG_RUNTIME_DIR=str(agent_user.base / "no-such-runtime"))
    assert result.returncode == 2 and "there is no runtime folder" in result.stderr and "Traceback" not in result.stderr
