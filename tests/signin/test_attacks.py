"""Face sign-in attacked from the user's own account: a fake agent that says yes, stalls or shouts.

The agent is a process of the user, so anything the user runs (a compromised
browser, a malicious package) can stop it and listen on its socket in its place.
What such a fake agent must never get is what the user's processes cannot get
alone: root, through a PAM application the user started (sudo, pkexec). These
tests plant one and drive PAM as such an application does: real uid the user,
effective uid root (what a setuid program has when it asks PAM).
"""

from __future__ import annotations

import json
import os
import socket
import struct
import subprocess

import pytest

from edge_core.agent import wire
from edge_core.agent.client import ask
from tests.signin.conftest import USER_PYTHON, wait_for
from tests.signin.test_pam import SEED, enrolled, signin_events

FAKE_AGENT = r"""
import json, os, socket, sys, time
path, mode = sys.argv[1], sys.argv[2]
os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
listener = socket.socket(socket.AF_UNIX)
listener.bind(path)
listener.listen(8)
print("listening", flush=True)
while True:
    conn, _ = listener.accept()
    conn.makefile("rb").readline()
    try:
        if mode == "yes":
            conn.sendall(b'{"done":true,"accepted":true}\n')
        elif mode == "drip":  # one message that never ends: a byte now and then, never the line's end
            conn.sendall(b'{"say":"')
            while True:
                time.sleep(1)
                conn.sendall(b"x")
        else:  # stall: announce a fresh wait, and a prompt with terminal escapes, again and again
            while True:
                conn.sendall(b'{"wait":60}\n{"say":"\\u001b]0;owned\\u0007\\u001b[2Jlook here"}\n')
                time.sleep(0.2)
    except OSError:
        pass
    conn.close()
"""


@pytest.fixture
def fake_agent(agent_user):
    """Start a fake agent of ``mode`` as the user, at the user's own socket (folder 0700, socket theirs)."""
    started: list[subprocess.Popen] = []

    def start(mode: str) -> None:
        proc = subprocess.Popen([str(USER_PYTHON), "-c", FAKE_AGENT, str(agent_user.socket), mode],
                                user=agent_user.uid, group=agent_user.gid, extra_groups=[], cwd="/",
                                stdout=subprocess.PIPE, text=True)
        started.append(proc)
        assert proc.stdout.readline().strip() == "listening"

    yield start
    for proc in started:
        proc.kill()
        proc.wait()


def as_setuid_program_of(user):
    """What sudo or pkexec is when it asks PAM: started by ``user`` (real uid), running as root (effective)."""
    return lambda: os.setresuid(user.uid, 0, 0)


def test_a_fake_agent_of_the_user_never_raises_them_to_root(agent_user, pam_service, fake_agent) -> None:
    """The user's own process says "accepted" at the user's socket: a setuid program asking for that user (sudo's
    case: PAM_USER is the invoking user) gets no yes from it; the password decides."""
    fake_agent("yes")
    args = ["pamtester", "-v", pam_service.name, agent_user.name, "authenticate"]
    raised = subprocess.run(args, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
                            preexec_fn=as_setuid_program_of(agent_user))
    assert raised.returncode != 0, "a process of the user signed them in to a setuid program: root without a face"
    assert "recognised" not in raised.stdout and "does not raise privileges" in raised.stdout, raised.stdout
    # Root asking on the user's behalf (a greeter, a root-run pamtester) grants the user only their own login,
    # which their own processes already hold: there, the agent's word is what it was.
    greeter = pam_service.authenticate(agent_user.name)
    assert greeter.returncode == 0 and "FaceSeal: recognised" in greeter.stdout
    # The administrator may accept the risk on the PAM line (as NOPASSWD would): then, and only then, it is taken.
    pam_service.file.write_text(pam_service.file.read_text().replace("--timeout 60", "--timeout 60 --trust-user-agent"))
    trusted = subprocess.run(args, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
                             preexec_fn=as_setuid_program_of(agent_user))
    assert trusted.returncode == 0 and "FaceSeal: recognised" in trusted.stdout


def test_an_agent_that_keeps_announcing_waits_is_cut_off_at_the_cap(agent_user, signin_user, pam_service,
                                                                     fake_agent) -> None:
    """An agent that announces a fresh wait again and again, and says terminal escapes: the helper stops at the PAM
    line's --timeout (not the agent's word), says nothing but printable text, and the password follows."""
    pam_service.file.write_text(pam_service.file.read_text().replace("--timeout 60", "--timeout 3"))
    fake_agent("stall")
    result = pam_service.authenticate(agent_user.name, timeout=60)  # before the fix: it never ended
    assert result.returncode != 0
    assert "look here" in result.stdout and "\x1b" not in result.stdout and "\x07" not in result.stdout
    assert result.stdout.count("look here") <= 20, "the agent flooded the PAM conversation"


def test_an_agent_that_drips_one_endless_message_is_cut_off_too(agent_user, pam_service, fake_agent) -> None:
    """An agent that never finishes its first line, a byte every second: each byte used to restart the helper's
    wait, so sudo, su or the lock screen hung for as long as the agent liked and the password never came. The
    wait for the agent's first words (10 s) bounds the whole line, and the password follows."""
    pam_service.file.write_text(pam_service.file.read_text().replace("--timeout 60", "--timeout 3"))
    fake_agent("drip")
    result = pam_service.authenticate(agent_user.name, timeout=40)  # before the fix: still waiting at 40 s
    assert result.returncode != 0 and "recognised" not in result.stdout


def test_an_attempt_cancelled_at_the_prompt_is_still_audited(agent_user, pam_service, videos) -> None:
    """Someone at the screen lock shows a face and cancels before the decision: the attempt is in the audit log (and
    the history) as failed, with why, not lost as an internal error."""
    enrolled(agent_user, pam_service)
    agent_user.start_agent(videos[f"live_{SEED}"], SEED)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as caller:
        caller.connect(str(agent_user.socket))
        wire.send(caller, {"op": "signin", "user": agent_user.name, "service": pam_service.name})
        assert "wait" in wire.Reader(caller).receive()  # admitted: the camera opens
        caller.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # hang up at once
    status = {"op": "status"}
    wait_for(lambda: not ask(agent_user.socket, agent_user.uid, status, timeout=10)["status"]["busy"], timeout=120)
    [event] = signin_events(agent_user)
    assert event["outcome"] == "failed" and "went away before the decision" in event["why"], event


def test_another_users_flood_is_audited_once_and_counted(agent_user, pam_service, videos) -> None:
    """Another user knocking again and again (the user opened their folders): each knock is refused and counted in
    the status, and the audit log says it once, not once per connection (each would open the vault and add a row)."""
    enrolled(agent_user, pam_service)
    agent_user.start_agent(None, None)
    for folder in (agent_user.socket.parent.parent, agent_user.socket.parent):
        os.chmod(folder, 0o755)
    os.chmod(agent_user.socket, 0o777)
    knock = ("import socket,sys\nfor _ in range(12):\n s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])\n"
             " try: s.recv(10)\n except ConnectionResetError: pass\n s.close()")
    other = subprocess.run([str(USER_PYTHON), "-c", knock, str(agent_user.socket)], capture_output=True, text=True,
                           user="nobody", group="nogroup", extra_groups=[], timeout=120, cwd="/")
    for folder in (agent_user.socket.parent.parent, agent_user.socket.parent):
        os.chmod(folder, 0o700)
    assert other.returncode == 0, other.stderr
    status = {"op": "status"}
    wait_for(lambda: ask(agent_user.socket, agent_user.uid, status, timeout=10)["status"]["refused"] == {"65534": 12})
    listing = agent_user.run("audit", "list", "--json")
    assert [e["peer_uid"] for e in json.loads(listing.stdout) if e["kind"] == "agent_refused"] == [65534]
