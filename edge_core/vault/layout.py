"""The files of one data directory, named in one place."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from edge_core.keys.keystore import FILENAME as KEYSTORE_FILENAME
from edge_core.support import paths


@dataclass(frozen=True)
class Layout:
    home: Path

    @property
    def keys_dir(self) -> Path:
        return self.home / "keys"

    @property
    def db(self) -> Path:
        return self.home / "faceseal.db"

    @property
    def keystore(self) -> Path:
        return self.keys_dir / KEYSTORE_FILENAME

    # A reset builds the new database and key store beside the old ones, then swaps them in.
    @property
    def staged_db(self) -> Path:
        return self.home / "faceseal.db.reset"

    @property
    def staged_keystore(self) -> Path:
        return self.keys_dir / (KEYSTORE_FILENAME + ".reset")

    @property
    def init_marker(self) -> Path:
        """Present only while a brand-new vault is being created (no user data yet)."""
        return self.keys_dir / ".initialising"

    def db_files(self, db: Path | None = None) -> list[Path]:
        base = db or self.db
        return [base, base.with_name(base.name + "-wal"), base.with_name(base.name + "-shm")]

    def has_data(self) -> bool:
        return self.db.exists() or self.keystore.exists()

    @property
    def keychain_account(self) -> str:
        """``root-key`` for the standard data directory; one account per other directory.

        One keychain entry per data directory: rotating the root of a test or
        second vault (``FACESEAL_HOME``) must never destroy the main vault's root.
        """
        default = Path(platformdirs.user_data_dir(paths.APP_NAME, appauthor=False)).absolute()
        if self.home.absolute() == default:
            return "root-key"
        return "root-key@" + hashlib.sha256(str(self.home.absolute()).encode()).hexdigest()[:12]
