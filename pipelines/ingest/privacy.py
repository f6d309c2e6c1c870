"""The salt used to hash API keys (raw keys are never stored)."""

from __future__ import annotations

import os
import secrets

from pipelines.core.home import Home


def api_key_salt(home: Home) -> str:
    """The salt for API-key hashes: ``MODESHIFT_SALT`` when set, else a random secret kept in the home (mode 0600)."""
    from_env = os.environ.get("MODESHIFT_SALT")
    if from_env:
        return from_env
    path = home.secret_salt_file
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process created it first
            return path.read_text().strip()
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
    return path.read_text().strip()
