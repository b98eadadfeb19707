"""Apps ask the agent (issue 27, item 1): a signed presence assertion, and the app's offline check of it.

The agent runs as a real user with a generated video standing in for the camera; the app is the real
``faceseal assertion request`` run as that user, and its check the real ``faceseal assertion verify``.
"""

from __future__ import annotations

import base64
import json
import secrets
import subprocess

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from edge_core.agent.client import ask
from edge_core.support.canonical import canonical_json
from tests.conftest import REPO
from tests.liveness.synthetic import PERSON, answerable_seeds
from tests.signin.conftest import USER_PYTHON

SEED = answerable_seeds()[0]
APP = "org.example.Notes"


def opted_in(user) -> str:
    """``alice`` enrolled as this login's face, apps opted in; returns the device key's fingerprint."""
    for args in (("enroll", "--consent", "alice", "--image", str(PERSON)), ("signin", "enable", "apps", "--name", "alice"),
                 ("policy", "set", "signin_timeout_s=60")):
        done = user.run(*args)
        assert done.returncode == 0, done.stderr
    status = user.run("status", "--json")
    assert status.returncode == 0, status.stderr
    return json.loads(status.stdout)["device_key"]


def request(user, nonce: str, reason: str = "open your notes"):
    return user.run("assertion", "request", "--audience", APP, f"--nonce={nonce}", "--reason", reason, "--json")


def verify(user, token: str, pin: str, nonce: str, audience: str = APP, *more: str):
    return user.run("assertion", "verify", token, "--audience", audience, f"--nonce={nonce}", "--device-key", pin,
                    "--json", *more)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_a_live_owner_gets_an_assertion_the_app_checks_offline(agent_user, videos) -> None:
    pin = opted_in(agent_user)
    agent_user.start_agent(videos[f"live_{SEED}"], SEED)
    nonce = secrets.token_urlsafe(24)
    app = subprocess.Popen([str(USER_PYTHON), "-m", "app.launcher", "assertion", "request", "--audience", APP,
                            f"--nonce={nonce}", "--reason", "open your notes", "--json"], env=agent_user.env(),
                           cwd=REPO, user=agent_user.uid, group=agent_user.gid, extra_groups=[],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen = None
    while app.poll() is None and seen is None:  # while the app's attempt runs, the agent says who asks and why
        seen = ask(agent_user.socket, agent_user.uid, {"op": "status"}, timeout=10)["status"]["asking"]
    out, err = app.communicate(timeout=300)
    asked = subprocess.CompletedProcess(app.args, app.returncode, out, err)
    assert asked.returncode == 0, asked.stdout + asked.stderr
    assert (seen["app"], seen["reason"]) == (APP, "open your notes"), seen
    assert seen["caller"].startswith("process ") and seen["caller"].endswith("over the agent's socket"), seen
    assert json.loads(agent_user.run("agent", "status", "--json").stdout)["asking"] is None  # over: nobody asks
    assert f"{APP} asks to check it is you (open your notes)" in asked.stderr  # said before the camera opens
    answer = json.loads(asked.stdout)
    token = answer["assertion"]
    assert answer["accepted"] is True and token.startswith("fsa1.")

    checked = verify(agent_user, token, pin, nonce)
    assert checked.returncode == 0, checked.stderr
    claims = json.loads(checked.stdout)
    assert claims["audience"] == APP and claims["liveness"] == "low"
    assert claims["expires_at"] - claims["issued_at"] == 60
    assert "alice" not in token and "alice" not in checked.stdout  # an identity id, never a name

    refusals = [  # (what the app does wrong or what an attacker tries, the words of the refusal)
        (verify(agent_user, token, pin, secrets.token_urlsafe(24)), "nonce"),  # replayed to a new request
        (verify(agent_user, token, pin, nonce, "org.example.Other"), "another app"),
        (verify(agent_user, token, pin, nonce, APP, "--at", str(claims["expires_at"] + 1)), "expired"),
        (verify(agent_user, token, "sha256:" + "0" * 64, nonce), "not signed by the pinned device key"),
    ]
    _prefix, body, signature = token.split(".")
    edited = json.loads(base64.urlsafe_b64decode(body + "=="))
    edited["exp"] += 3600
    edited["iat"] += 3600
    refusals.append((verify(agent_user, f"fsa1.{b64url(canonical_json(edited))}.{signature}", pin, nonce),
                     "signature does not verify"))
    forger = Ed25519PrivateKey.generate()  # re-signed by anyone else, carrying the device's own public key
    payload = canonical_json(json.loads(base64.urlsafe_b64decode(body + "==")))
    forged = forger.sign(b"faceseal/assertion/v1\n" + payload)
    refusals.append((verify(agent_user, f"fsa1.{body}.{b64url(forged)}", pin, nonce), "signature does not verify"))
    refusals.append((verify(agent_user, "not an assertion", pin, nonce), "not a FaceSeal assertion"))
    not_a_time = verify(agent_user, token, pin, nonce, APP, "--at", "nan")  # NaN would pass every comparison
    assert not_a_time.returncode == 2 and "finite" in not_a_time.stderr, not_a_time.stderr
    for result, words in refusals:
        assert result.returncode == 1, (words, result.stdout, result.stderr)
        assert words in result.stderr and "Traceback" not in result.stderr, (words, result.stderr)

    events = json.loads(agent_user.run("audit", "list", "--json").stdout)
    [issued] = [e for e in events if e["kind"] == "app_assertion"]
    assert (issued["audience"], issued["reason"]) == (APP, "open your notes")
    [attempt] = [e for e in events if e["kind"] == "signin"]
    assert (attempt["service"], attempt["outcome"]) == ("apps", "accepted")


def test_a_photo_gets_no_assertion_and_apps_not_opted_in_are_refused(agent_user, videos) -> None:
    opted_in(agent_user)
    agent_user.start_agent(videos["still"], SEED)
    asked = request(agent_user, secrets.token_urlsafe(24))
    assert asked.returncode == 10, asked.stdout + asked.stderr
    assert "assertion" not in json.loads(asked.stdout)

    assert agent_user.run("signin", "disable", "apps").returncode == 0
    refused = request(agent_user, secrets.token_urlsafe(24))
    assert refused.returncode == 1 and "not enabled for 'apps'" in refused.stderr, refused.stderr
    for bad in (("--nonce", "short"), ("--reason", "line\nbreak")):
        args = {"--nonce": secrets.token_urlsafe(24), "--reason": "why", **dict([bad])}
        result = agent_user.run("assertion", "request", "--audience", APP, *[x for kv in args.items() for x in kv])
        assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    events = json.loads(agent_user.run("audit", "list", "--json").stdout)
    assert not [e for e in events if e["kind"] == "app_assertion"]
    assert [e["outcome"] for e in events if e["kind"] == "signin"] == ["rejected", "refused"]
