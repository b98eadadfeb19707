"""Apps ask over D-Bus (issue 27): ``org.faceseal.Agent1.Authenticate`` on a real session bus, served by the real
agent running as a real user with a generated video standing in for its camera.

The app is ``tests/signin/dbus_app.py`` (jeepney, as a desktop app would) run as that user; its answer is checked
with the real ``faceseal assertion verify``. The bus is a real dbus-daemon started for the test, which lets any uid
connect, so that root asking is refused by the agent, not by the bus.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
from pathlib import Path

from edge_core.agent.client import ask
from tests.conftest import REPO
from tests.liveness.synthetic import answerable_seeds
from tests.signin.conftest import USER_PYTHON
from tests.signin.test_apps import APP, opted_in, verify

SEED = answerable_seeds()[0]
DBUS_APP = Path(__file__).with_name("dbus_app.py")


def app(user, bus: str, nonce: str, reason: str = "open your notes", as_user: bool = True) -> subprocess.Popen:
    """The app, asking over the bus: as the agent's user, or (``as_user`` false) as root, another uid."""
    who = {"user": user.uid, "group": user.gid, "extra_groups": []} if as_user else {}
    return subprocess.Popen([str(USER_PYTHON) if as_user else sys.executable, str(DBUS_APP), APP, nonce, reason],
                            env=user.env(DBUS_SESSION_BUS_ADDRESS=bus), cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **who)


def answer_of(proc: subprocess.Popen) -> dict:
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, out + err
    return json.loads(out)


def test_an_app_on_the_session_bus_gets_an_assertion_and_the_window_sees_who_asked(agent_user, user_bus,
                                                                                     videos) -> None:
    pin = opted_in(agent_user)
    agent_user.start_agent(videos[f"live_{SEED}"], SEED, bus=user_bus)
    nonce = secrets.token_urlsafe(24)
    asking = app(agent_user, user_bus, nonce)
    seen = None
    while asking.poll() is None and seen is None:  # what the window's Admin › Sign-in shows while it runs
        seen = ask(agent_user.socket, agent_user.uid, {"op": "status"}, timeout=10)["status"]["asking"]
    answer = answer_of(asking)
    assert "error" not in answer, answer
    assert seen is not None and (seen["app"], seen["reason"]) == (APP, "open your notes"), seen
    assert seen["caller"].startswith(f"process {asking.pid} (") and seen["caller"].endswith("over D-Bus"), seen
    assert answer["prompts"][0] == f"FaceSeal: {APP} asks to check it is you (open your notes)"  # before the camera
    assert len(answer["prompts"]) > 1  # then the liveness challenges, to the app that asked

    checked = verify(agent_user, answer["assertion"], pin, nonce)
    assert checked.returncode == 0, checked.stderr
    claims = json.loads(checked.stdout)
    assert claims["expires_at"] == answer["expires_at"] and claims["liveness"] == "low"
    for result, words in ((verify(agent_user, answer["assertion"], pin, secrets.token_urlsafe(24)), "nonce"),
                          (verify(agent_user, answer["assertion"], pin, nonce, "org.example.Other"), "another app"),
                          (verify(agent_user, answer["assertion"], pin, nonce, APP, "--at",
                                  str(claims["expires_at"] + 1)), "expired")):
        assert result.returncode == 1 and words in result.stderr, (words, result.stderr)

    events = json.loads(agent_user.run("audit", "list", "--json").stdout)
    [issued] = [e for e in events if e["kind"] == "app_assertion"]
    assert (issued["audience"], issued["reason"]) == (APP, "open your notes")
    assert issued["caller"] == seen["caller"]


def test_another_uid_a_photo_and_apps_not_opted_in_get_no_assertion_over_the_bus(agent_user, user_bus,
                                                                                  videos) -> None:
    opted_in(agent_user)
    agent = agent_user.start_agent(videos["still"], SEED, bus=user_bus)
    intruder = answer_of(app(agent_user, user_bus, secrets.token_urlsafe(24), as_user=False))  # root, on this bus
    assert intruder["error"] == "org.freedesktop.DBus.Error.AccessDenied" and not intruder["prompts"], intruder
    assert agent.poll() is None
    photo = answer_of(app(agent_user, user_bus, secrets.token_urlsafe(24)))
    assert photo["error"] == "org.faceseal.Agent1.Error.NotAccepted" and "assertion" not in photo, photo

    assert agent_user.run("signin", "disable", "apps").returncode == 0
    refused = answer_of(app(agent_user, user_bus, secrets.token_urlsafe(24)))
    assert "not enabled for 'apps'" in refused["message"] and not refused["prompts"], refused  # before the camera
    bad = answer_of(app(agent_user, user_bus, "short"))
    assert bad["error"] == "org.faceseal.Agent1.Error.UsageError" and "nonce" in bad["message"], bad

    events = json.loads(agent_user.run("audit", "list", "--json").stdout)
    assert [e["peer_uid"] for e in events if e["kind"] == "agent_refused"] == [0]
    assert not [e for e in events if e["kind"] == "app_assertion"]
    assert [e["outcome"] for e in events if e["kind"] == "signin"] == ["rejected", "refused"]
