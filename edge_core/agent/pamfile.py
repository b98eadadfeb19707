"""``faceseal signin install-pam | uninstall-pam SERVICE``: the one line in /etc/pam.d that lets a face sign in.

Editing PAM is the administrator's act (run with sudo); the packages never do
it. Installing puts one line at the top of the file's ``auth`` section::

    auth sufficient pam_exec.so quiet stdout /usr/bin/faceseal-pam --timeout 10  # faceseal

``sufficient``: a face that passes signs in, anything else falls through to the
lines that were there (the password). A removed package leaves that line
pointing at a missing helper, which pam_exec reports as a failure: the password
prompt follows, nobody is locked out.

The edit is made so that a mistake cannot leave a broken file: the original
is copied beside it first (``SERVICE.faceseal-backup``, same mode), the new
text is written to a temporary file in the same folder and renamed over it, and
the result is read back and checked (every line still a PAM rule, exactly our
line added or removed, nothing else changed); any failure puts the backup back.
A symlink, a file owned by another user than root, or a missing file is refused.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from edge_core.errors import FaceSealError, UsageError
from edge_core.ops.results import Result

PAM_DIR = Path("/etc/pam.d")
CAP_S = 60.0
"""The PAM line's ``--timeout``: the most the helper waits, whatever the policy's ``signin_timeout_s`` says."""
MARKER = "# faceseal"
"""Ends our line, so uninstalling removes exactly the line FaceSeal wrote and nothing an administrator wrote."""
_RULE = re.compile(r"^-?(auth|account|password|session)\s+(\[[^\]]*\]|\S+)\s+\S+")


class PamEditRefused(FaceSealError):
    """The PAM file was not changed: not root, no such file, a symlink, or the result would not have been valid."""


@dataclass(frozen=True)
class PamEdit(Result):
    service: str
    file: Path
    status: str
    """"installed", "already installed", "removed" or "not installed"."""
    line: str
    backup: Path | None = None

    def summary(self) -> str:
        where = f" (the previous file is kept as {self.backup})" if self.backup else ""
        return f"{self.file}: {self.status}{where}"


def default_helper() -> Path:
    """The ``faceseal-pam`` beside this interpreter (a source install's venv), else the one on the PATH
    (/usr/bin/faceseal-pam from the packages)."""
    beside = Path(sys.executable).with_name("faceseal-pam")
    found = shutil.which("faceseal-pam")
    return beside if beside.exists() or not found else Path(found)


def pam_line(helper: Path, timeout: float) -> str:
    return f"auth sufficient pam_exec.so quiet stdout {helper} --timeout {timeout:g}  {MARKER}"


def _is_ours(line: str) -> bool:
    return line.rstrip().endswith(MARKER) and "pam_exec.so" in line


def _is_auth(line: str) -> bool:
    text = line.strip()
    return bool(re.match(r"^-?auth\s", text)) or text in ("@include common-auth", "@include system-auth")


def _valid(lines: list[str]) -> bool:
    """Every line a comment, blank, an @include, or a rule: type, control, module."""
    return all(not text or text.startswith("#") or text.startswith("@include ") or _RULE.match(text)
               for text in (line.strip() for line in lines))


def _file(service: str, pam_dir: Path) -> Path:
    if os.geteuid() != 0:
        raise PamEditRefused("editing /etc/pam.d is the administrator's act: run it with sudo")
    path = pam_dir / service
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        raise PamEditRefused(f"{path} does not exist: FaceSeal adds a line to a service's PAM file, never makes "
                             "one") from None
    if not stat.S_ISREG(info.st_mode) or info.st_uid != 0:
        raise PamEditRefused(f"{path} is not a regular file owned by root (a symlink?); nothing was changed")
    return path


def _root_only(path: Path, what: str) -> None:
    """Refuse ``path`` unless nobody but root can change what it is: the file (when it exists) and every folder
    on the way to it, as named and once links are followed, owned by root and writable by nobody else. The helper
    runs as root inside every sudo, su and polkit prompt of the machine: a helper (or its interpreter) that a user
    could rewrite, or plant where it is missing, would run that user's code as root."""
    for named in dict.fromkeys((path, Path(os.path.realpath(path)))):
        for part in [*reversed(named.parents), named]:
            try:
                info = os.lstat(part)
            except FileNotFoundError:
                break  # what is missing can be made only by whoever may write the folder above: checked
            if info.st_uid != 0 or (info.st_mode & 0o022 and not stat.S_ISLNK(info.st_mode)):  # (a link: 777)
                raise PamEditRefused(f"{what} {path} could be changed by someone other than root ({part} belongs to "
                                     f"uid {info.st_uid}, mode {stat.S_IMODE(info.st_mode):o}): it would run as root "
                                     "in every prompt; install FaceSeal where only root can write (the packages' "
                                     "/usr/bin/faceseal-pam); nothing was changed")


def _interpreter(helper: Path) -> Path | None:
    """The program a script's ``#!`` line names (what really runs as root), or None for a binary or a missing file."""
    try:
        with helper.open("rb") as script:
            first = script.readline(512)
    except OSError:
        return None
    words = first[2:].split() if first.startswith(b"#!") else []
    return Path(os.fsdecode(words[0])) if words else None


def install(service: str, helper: Path, timeout: float, pam_dir: Path = PAM_DIR) -> PamEdit:
    """Put FaceSeal's line at the top of ``service``'s auth section (nothing changes when it is there)."""
    if not helper.is_absolute():
        raise UsageError("the helper is named by its absolute path (PAM runs it with no PATH)")
    if any(c.isspace() or c == "#" or not c.isprintable() for c in str(helper)):
        raise UsageError("the helper's path must not hold spaces, '#' or control characters (PAM would split it)")
    if not 1 <= timeout <= 120:
        raise UsageError("--timeout is from 1 to 120 seconds")
    path = _file(service, pam_dir)
    _root_only(helper, "the helper")
    interpreter = _interpreter(helper)
    if interpreter is not None:
        _root_only(interpreter, "the helper's interpreter")
    line = pam_line(helper, timeout)
    lines = path.read_text().splitlines(keepends=True)
    if any(_is_ours(existing) for existing in lines):
        return PamEdit(service, path, "already installed", next(x for x in lines if _is_ours(x)).rstrip("\n"))
    at = next((i for i, existing in enumerate(lines) if _is_auth(existing)), None)
    if at is None:
        raise PamEditRefused(f"{path} has no auth section to add face sign-in to; nothing was changed")
    wanted = lines[:at] + [line + "\n"] + lines[at:]
    return PamEdit(service, path, "installed", line, _replace(path, lines, wanted))


def uninstall(service: str, pam_dir: Path = PAM_DIR) -> PamEdit:
    """Remove exactly the line FaceSeal wrote (nothing else)."""
    path = _file(service, pam_dir)
    lines = path.read_text().splitlines(keepends=True)
    ours = [existing for existing in lines if _is_ours(existing)]
    if not ours:
        return PamEdit(service, path, "not installed", "")
    wanted = [existing for existing in lines if not _is_ours(existing)]
    return PamEdit(service, path, "removed", ours[0].rstrip("\n"), _replace(path, lines, wanted))


def _replace(path: Path, before: list[str], wanted: list[str]) -> Path:
    """Write ``wanted`` over ``path`` (backup first, atomic rename, read back and checked; the backup restored on
    any failure). Returns the backup's path."""
    if not _valid(wanted):
        raise PamEditRefused(f"{path} holds a line that is not a PAM rule; it was left as it is")
    backup = path.with_name(path.name + ".faceseal-backup")
    shutil.copy2(path, backup)
    info = path.stat()
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w") as out:
            out.write("".join(wanted))
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, stat.S_IMODE(info.st_mode))
        os.chown(temporary, info.st_uid, info.st_gid)
        os.replace(temporary, path)
        if path.read_text().splitlines(keepends=True) != wanted or not _valid(wanted):
            raise PamEditRefused(f"{path} did not read back as written")
    except BaseException:
        shutil.copy2(backup, path)
        Path(temporary).unlink(missing_ok=True)
        raise
    return backup
