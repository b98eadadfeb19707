"""``faceseal signin install-pam / uninstall-pam``: one line in, exactly that line out, never a broken PAM file."""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path

import pytest

from tests.conftest import run_cli

SU_LIKE = ("#%PAM-1.0\n# the test's own service, shaped like Debian's su\nauth       sufficient pam_rootok.so\n"
           "session       required   pam_env.so readenv=1\n"
           "auth\t[success=1 default=ignore]\tpam_unix.so nullok\nauth\trequisite\t\t\tpam_deny.so\n"
           "auth       required   pam_permit.so\n@include common-account\n")


@pytest.fixture
def service(signin_user) -> Path:  # signin_user: root, pamtester, useradd present (or a clear skip)
    path = Path("/etc/pam.d") / f"faceseal-test-{uuid.uuid4().hex[:8]}"
    path.write_text(SU_LIKE)
    os.chmod(path, 0o644)
    yield path
    path.unlink(missing_ok=True)
    path.with_name(path.name + ".faceseal-backup").unlink(missing_ok=True)


def test_install_puts_one_line_at_the_top_of_auth_and_uninstall_takes_exactly_it_out(service) -> None:
    helper = Path("/opt/faceseal-test/faceseal-pam")
    result = run_cli("signin", "install-pam", service.name, "--helper", str(helper), "--timeout", "7")
    assert result.returncode == 0, result.stderr
    lines = service.read_text().splitlines()
    assert lines[2] == f"auth sufficient pam_exec.so quiet stdout {helper} --timeout 7  # faceseal"
    assert lines[:2] + lines[3:] == SU_LIKE.splitlines(), "nothing else changed"
    assert oct(service.stat().st_mode & 0o777) == "0o644"
    backup = service.with_name(service.name + ".faceseal-backup")
    assert backup.read_text() == SU_LIKE and "kept as" in result.stdout
    again = run_cli("signin", "install-pam", service.name, "--helper", str(helper))
    assert again.returncode == 0 and "already installed" in again.stdout
    assert service.read_text().count("# faceseal") == 1

    removed = run_cli("signin", "uninstall-pam", service.name)
    assert removed.returncode == 0, removed.stderr
    assert service.read_text() == SU_LIKE, "byte for byte what the administrator had"
    assert "not installed" in run_cli("signin", "uninstall-pam", service.name).stdout


def test_a_missing_helper_locks_nobody_out(service, signin_user) -> None:
    """The package removed, its line left behind: pam_exec fails, the password (here pam_permit) decides."""
    assert run_cli("signin", "install-pam", service.name, "--helper", "/nonexistent/faceseal-pam").returncode == 0
    service.write_text(service.read_text().replace("auth\t[success=1 default=ignore]\tpam_unix.so nullok\n"
                                                   "auth\trequisite\t\t\tpam_deny.so\n", ""))
    result = subprocess.run(["pamtester", service.name, signin_user.name, "authenticate"], capture_output=True,
                            text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("case", ["not_root", "missing", "symlink", "garbage", "unknown_service"])
def test_refusals_change_nothing(service, signin_user, case, tmp_path) -> None:
    target = service
    if case == "symlink":
        target = service.with_name(service.name + "-link")
        target.symlink_to(service)
    if case == "garbage":
        service.write_text(SU_LIKE + "this is not a rule\n")
    before = service.read_text()
    name = {"missing": "faceseal-test-missing0", "unknown_service": "sshd"}.get(case, target.name)
    try:
        if case == "not_root":
            result = signin_user.run("signin", "install-pam", name, "--helper", "/usr/bin/faceseal-pam")
        else:
            result = run_cli("signin", "install-pam", name, "--helper", "/usr/bin/faceseal-pam")
    finally:
        if case == "symlink":
            target.unlink()
    expected = {"not_root": "the administrator's act", "missing": "does not exist", "symlink": "not a regular file",
                "garbage": "not a PAM rule", "unknown_service": "not a service face sign-in knows"}[case]
    assert result.returncode != 0 and expected in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert service.read_text() == before
    assert not service.with_name(service.name + ".faceseal-backup").exists()


@pytest.mark.parametrize("writable", ["helper", "its_folder", "its_interpreter", "missing_in_a_users_folder"])
def test_a_helper_a_user_could_rewrite_is_refused(service, signin_user, writable) -> None:
    """The helper runs as root in every prompt of the machine: one that a user could rewrite (a source install in a
    home folder) or plant where it is missing would be that user's root shell. Refused, nothing changed."""
    base = Path("/opt") / f"faceseal-test-{uuid.uuid4().hex[:8]}"
    users = base / "user"
    users.mkdir(parents=True)
    os.chmod(base, 0o755)
    os.chown(users, signin_user.uid, signin_user.gid)
    helper = {"helper": base, "its_folder": users, "its_interpreter": base,
              "missing_in_a_users_folder": users}[writable] / "faceseal-pam"
    interpreter = users / "python3" if writable == "its_interpreter" else Path("/usr/bin/python3")
    if writable != "missing_in_a_users_folder":
        helper.write_text(f"#!{interpreter}\nprint('hi')\n")
        os.chmod(helper, 0o755)
        if writable == "helper":
            os.chown(helper, signin_user.uid, signin_user.gid)
    before = service.read_text()
    try:
        result = run_cli("signin", "install-pam", service.name, "--helper", str(helper))
    finally:
        subprocess.run(["rm", "-rf", str(base)], check=True)
    assert result.returncode != 0 and "could be changed by someone other than root" in result.stderr, result.stderr
    assert service.read_text() == before
    assert not service.with_name(service.name + ".faceseal-backup").exists()


def test_a_helper_path_that_would_split_the_pam_line_is_refused(service) -> None:
    before = service.read_text()
    for helper in ("/usr/bin/true pam_permit.so", "/usr/bin/faceseal-pam#", "/usr/bin/x\nauth sufficient pam_permit.so"):
        result = run_cli("signin", "install-pam", service.name, "--helper", helper)
        assert result.returncode == 2 and "must not hold spaces" in result.stderr, result.stderr
    assert service.read_text() == before
