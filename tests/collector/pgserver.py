"""A real, throw-away PostgreSQL server for the collector's tests and benchmark.

Debian's ``postgresql`` package (scripts/system-deps.sh installs it) provides
``initdb`` and ``pg_ctl`` under /usr/lib/postgresql/<version>/bin. The cluster
lives in a fresh folder under the system temp dir and listens on 127.0.0.1
(a free port, password authentication) and on a Unix socket in that folder
(trust, for the administrator's own connections). PostgreSQL refuses to run
as root: as root, the server runs as the system user ``faceseal-pg`` (created
here when missing, as system-deps.sh does) through ``runuser``; as anyone
else, as that user.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import psycopg

PG_USER = "faceseal-pg"
ROLE = "collector"


class PostgresUnavailable(RuntimeError):
    """The PostgreSQL server binaries are missing or the server would not start."""


def _version(path: Path) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", path.parent.name)) or (0,)


def find_bin() -> Path:
    """The newest /usr/lib/postgresql/*/bin holding initdb and pg_ctl (or the ones on PATH)."""
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=_version, reverse=True)
    for folder in candidates:
        if (folder / "initdb").exists() and (folder / "pg_ctl").exists():
            return folder
    initdb = shutil.which("initdb")
    if initdb and shutil.which("pg_ctl"):
        return Path(initdb).parent
    raise PostgresUnavailable(
        "PostgreSQL is missing: run 'make system-deps' (scripts/system-deps.sh installs postgresql)"
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _ensure_user() -> None:
    if subprocess.run(["id", "-u", PG_USER], check=False, capture_output=True).returncode != 0:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", PG_USER],
            check=True,
            capture_output=True,
        )


class PostgresServer:
    """``start()`` an initdb'd cluster; ``database()`` a fresh database URL; ``stop()`` removes it all."""

    def __init__(self, durable: bool = False) -> None:
        self.durable = durable
        self.bin = find_bin()
        self.folder = Path(tempfile.mkdtemp(prefix="faceseal-pg-"))
        self.data = self.folder / "data"
        self.password = secrets.token_hex(16)
        self.port = 0
        self._as_root = os.geteuid() == 0
        self._made = 0

    def _run(self, *command: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        prefix = ["runuser", "-u", PG_USER, "--"] if self._as_root else []
        return subprocess.run(
            [*prefix, *command], check=check, capture_output=True, text=True, timeout=120, cwd=self.folder
        )

    def start(self) -> PostgresServer:
        if self._as_root:
            _ensure_user()
            shutil.chown(self.folder, PG_USER, PG_USER)
        self.folder.chmod(0o700)
        pwfile = self.folder / "superuser.pw"
        pwfile.write_text(self.password + "\n")
        if self._as_root:
            shutil.chown(pwfile, PG_USER, PG_USER)
        self._run(
            str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth-local=trust",
            "--auth-host=scram-sha-256", f"--pwfile={pwfile}", "-E", "UTF8", "--no-instructions",
        )
        pwfile.unlink()
        options = f"-c listen_addresses=127.0.0.1 -c unix_socket_directories={self.folder}"
        if not self.durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        for _attempt in range(3):  # the free port may be taken between choosing and binding it
            self.port = _free_port()
            started = self._run(
                str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.folder / "server.log"),
                "-w", "-t", "60", "-o", f"{options} -c port={self.port}", "start", check=False,
            )
            if started.returncode == 0:
                break
        else:
            log = (self.folder / "server.log").read_text(errors="replace")[-2000:]
            self.stop()
            raise PostgresUnavailable(f"PostgreSQL did not start: {started.stderr.strip()} {log}")
        with self.admin() as conn:
            conn.execute(f"CREATE ROLE {ROLE} LOGIN PASSWORD '{self.password}'")
        return self

    def admin(self, dbname: str = "postgres") -> psycopg.Connection[tuple[object, ...]]:
        """A superuser connection over the Unix socket, autocommit."""
        return psycopg.connect(
            host=str(self.folder), port=self.port, user="postgres", dbname=dbname, autocommit=True
        )

    def database(self) -> str:
        """A new empty database owned by the collector's role: its ``postgresql://`` URL (with the password)."""
        self._made += 1
        name = f"collector_{os.getpid()}_{self._made}"
        with self.admin() as conn:
            conn.execute(f"CREATE DATABASE {name} OWNER {ROLE}")
        return f"postgresql://{ROLE}:{self.password}@127.0.0.1:{self.port}/{name}"

    def pid(self) -> int:
        """The postmaster's process id (its backends are its children)."""
        return int((self.data / "postmaster.pid").read_text().split()[0])

    def stop(self) -> None:
        if self.data.exists():
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop", check=False)
        shutil.rmtree(self.folder, ignore_errors=True)
