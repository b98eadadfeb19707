"""``su`` typed inside an SSH session: no remote host, an ordinary /dev/pts terminal, and yet not the person at the desk.

A real OpenSSH server (Debian's, unpacked by scripts/test-sshd.sh, never
installed) runs as the test user on 127.0.0.1; root logs in with a key and runs
``pamtester`` there, as ``su`` would be run. The same PAM service asked from
outside SSH signs the person in, so a refusal here is the SSH session's doing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import REPO, free_port
from tests.signin.conftest import (SITE_PACKAGES, USER_PYTHON, PamService, SignInUser, pam_service_with,
                                  wait_for)
from tests.signin.test_apps import APP, opted_in
from tests.signin.test_pam import SEED, enrolled, signin_events

SSHD = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "faceseal/openssh-server/usr/sbin/sshd"


@dataclass
class SshServer:
    user: SignInUser
    port: int
    key: Path

    def run(self, command: str) -> subprocess.CompletedProcess:
        """``command`` in an SSH session of the test user, as someone logged in from elsewhere would type it."""
        return subprocess.run(["ssh", "-i", str(self.key), "-p", str(self.port), "-o", "BatchMode=yes",
                               "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                               "-o", "LogLevel=ERROR", f"{self.user.name}@127.0.0.1", command],
                              capture_output=True, text=True, timeout=180, stdin=subprocess.DEVNULL)


def _sshd(user: SignInUser, folder: Path, session: bool) -> Iterator[SshServer]:
    """OpenSSH's server as ``user`` (unprivileged, as OpenSSH's own regression tests run it); with ``session``, in
    an audit login session of its own, as pam_loginuid puts every SSH login."""
    if not SSHD.exists():
        pytest.skip(f"{SSHD} is missing: 'make test' unpacks it (scripts/test-sshd.sh)")
    folder.mkdir(mode=0o700)
    sshd = folder / "sshd"  # the cache is in root's home, which the user may not enter
    shutil.copyfile(SSHD, sshd)
    os.chmod(sshd, 0o755)
    for name, owner in (("host", user.uid), ("client", 0)):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(folder / name)], check=True)
        os.chown(folder / name, owner, -1)
    (folder / "authorized_keys").write_text((folder / "client.pub").read_text())
    port = free_port()
    (folder / "sshd_config").write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {folder / 'host'}\nPidFile {folder / 'sshd.pid'}\n"
        f"AuthorizedKeysFile {folder / 'authorized_keys'}\nStrictModes no\nUsePAM no\nPasswordAuthentication no\n"
        f"KbdInteractiveAuthentication no\nAllowUsers {user.name}\nLogLevel ERROR\n")
    os.chown(folder, user.uid, user.gid)
    for name in ("authorized_keys", "sshd_config"):
        os.chown(folder / name, user.uid, user.gid)

    def become_user() -> None:
        if session:
            Path("/proc/self/loginuid").write_text(str(user.uid))
        os.setgroups([])
        os.setgid(user.gid)
        os.setuid(user.uid)

    subprocess.run(["usermod", "--shell", "/bin/sh", user.name], check=True)  # sshd runs commands in the user's shell
    server = subprocess.Popen([str(sshd), "-D", "-e", "-f", str(folder / "sshd_config")], preexec_fn=become_user,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd="/")
    try:
        ssh = SshServer(user, port, folder / "client")
        wait_for(lambda: server.poll() is not None or ssh.run("true").returncode == 0, timeout=60)
        assert server.poll() is None, server.stderr.read()
        yield ssh
    finally:
        server.terminate()
        server.wait(timeout=30)
        subprocess.run(["usermod", "--shell", "/usr/sbin/nologin", user.name], check=True)


@pytest.fixture
def ssh_server(agent_user: SignInUser) -> Iterator[SshServer]:
    yield from _sshd(agent_user, agent_user.base / f"ssh-{uuid.uuid4().hex[:8]}", session=False)


@pytest.fixture
def user_pam_service(signin_user: SignInUser) -> Iterator[PamService]:
    """A PAM service whose helper the test user itself can run (pamtester as that user: the application ``su``
    would be, minus setuid, which changes nothing of where it was started from)."""
    yield from pam_service_with(f"/usr/bin/env PYTHONPATH={SITE_PACKAGES}:{REPO} {USER_PYTHON} -m "
                                f"edge_core.agent.pam --runtime-base {signin_user.runtime_base} --timeout 60")


def pamtester(service: PamService, user: SignInUser) -> str:
    return f"pamtester -v {service.name} {user.name} authenticate"


def test_su_inside_an_ssh_session_is_refused_and_audited(agent_user, user_pam_service, ssh_server, videos) -> None:
    enrolled(agent_user, user_pam_service)
    agent_user.start_agent(videos[f"live_{SEED}"], SEED)
    at_the_desk = subprocess.run(pamtester(user_pam_service, agent_user).split(), capture_output=True, text=True,
                                 user=agent_user.uid, group=agent_user.gid, extra_groups=[], timeout=180, cwd="/")
    assert at_the_desk.returncode == 0, at_the_desk.stdout + at_the_desk.stderr  # the same face, the same service
    for typed in (pamtester(user_pam_service, agent_user),  # as typed, SSH_CONNECTION and all
                  "env -u SSH_CONNECTION -u SSH_CLIENT -u SSH_TTY " + pamtester(user_pam_service, agent_user)):
        remote = ssh_server.run(typed)
        said = remote.stdout + remote.stderr
        assert remote.returncode != 0 and "not a remote session" in said, said
    refused = [e for e in signin_events(agent_user) if e["outcome"] == "refused"]
    assert len(refused) == 2 and all("remote session" in e["why"] for e in refused), refused
    assert {"started with an SSH connection's environment" in e["why"] or "started under sshd" in e["why"]
            for e in refused} == {True}


def test_a_process_detached_from_the_ssh_connection_is_still_seen_by_its_login_session(
        agent_user, user_pam_service, videos) -> None:
    """The hardest to see: ``setsid -f`` leaves sshd's process tree and ``env -i`` its variables; the audit login
    session (set once at login, inherited, changeable only with CAP_AUDIT_CONTROL) still names the connection."""
    if Path("/proc/self/sessionid").read_text().strip() == "4294967295":
        probe = subprocess.run([sys.executable, "-c", "open('/proc/self/loginuid','w').write('0')"],
                               capture_output=True, text=True)
        if probe.returncode != 0:
            pytest.skip(f"this kernel gives no process an audit login session ({probe.stderr.strip()[-80:]})")
    enrolled(agent_user, user_pam_service)
    agent_user.start_agent(videos[f"live_{SEED}"], SEED)
    folder = agent_user.base / f"ssh-{uuid.uuid4().hex[:8]}"
    out = folder / "detached.txt"  # in the user's own folder
    server = _sshd(agent_user, folder, session=True)
    ssh = next(server)
    try:
        started = ssh.run(f"setsid -f env -i PATH=/usr/bin:/bin sh -c '{pamtester(user_pam_service, agent_user)}; "
                          f"echo rc=$?' > {out} 2>&1")
        assert started.returncode == 0, started.stderr
        wait_for(lambda: out.exists() and "rc=" in out.read_text(), timeout=120)
    finally:
        server.close()
    said = out.read_text()
    assert "rc=0" not in said and "not a remote session" in said, said
    [event] = signin_events(agent_user)
    assert event["outcome"] == "refused" and "login session" in event["why"] and "SSH connection" in event["why"]


def test_an_app_asking_from_an_ssh_session_is_refused_before_the_camera_and_audited(agent_user, ssh_server,
                                                                                     videos) -> None:
    """An app run over SSH (``faceseal assertion request``, as any app would ask the agent's socket) is as far from
    the desk as ``su`` typed there: the agent reads where the asking process was started from (the kernel names it:
    SO_PEERCRED) and the one sign-in rule refuses it before the camera opens, audited."""
    opted_in(agent_user)
    agent_user.start_agent(videos[f"live_{SEED}"], SEED)
    env = " ".join(f"{key}={value}" for key, value in agent_user.env().items())
    ask = f"{USER_PYTHON} -m app.launcher assertion request --audience {APP} --nonce=n0nce-{uuid.uuid4().hex} " \
          "--reason notes --json"
    for typed in (f"cd {REPO} && env {env} {ask}", f"cd {REPO} && env -i {env} {ask}"):  # variables cleared too
        remote = ssh_server.run(typed)
        said = remote.stdout + remote.stderr
        assert remote.returncode != 0 and "not a remote session" in said, said
    refused = [e for e in signin_events(agent_user) if e["outcome"] == "refused"]
    assert len(refused) == 2 and all(e["service"] == "apps" and "remote session" in e["why"] for e in refused)
    # The same request at the desk is answered: tests/signin/test_apps.py, with the same agent and video.
