"""The salt used to hash API keys (raw keys are never stored).

The salt is ``MODESHIFT_SALT`` when set, else a random secret kept in the home (``secret_salt``, mode 0600). That file
is created atomically: the secret is written and fsynced under a temporary name, then linked to its final name, which
fails if another process created it first (then that one's salt is used). A process killed while creating it leaves
only a temporary file (removed by the next ``materialize``), never an empty ``secret_salt``. A salt file that is empty
or too short (damaged, or written by hand) is refused: hashing API keys with it would make them guessable.
"""

from __future__ import annotations

import os
import secrets

from pipelines.core.atomic import temp_sibling
from pipelines.core.errors import ModeshiftError
from pipelines.core.home import Home
from pipelines.core.object_store import LAKE_ENV

# A generated salt is 32 random bytes as 64 hex digits; a salt file shorter than this many characters is refused.
MIN_SALT_FILE_CHARS = 32


def api_key_salt(home: Home) -> str:
    """The salt for API-key hashes: ``MODESHIFT_SALT`` when set, else the secret kept in the home (created on first
    use). Raises ModeshiftError when the home's salt file is empty or shorter than MIN_SALT_FILE_CHARS."""
    from_env = os.environ.get("MODESHIFT_SALT")
    if from_env:
        return from_env
    if os.environ.get(LAKE_ENV, "").strip():
        raise ModeshiftError(
            f"{LAKE_ENV} puts the lake in shared storage, so every worker must hash API keys with the same salt, "
            "and the salt is a secret that must not be stored beside the data.",
            "Set MODESHIFT_SALT (at least 32 random characters) from your secret store on every worker.",
        )
    path = home.secret_salt_file
    if not path.exists():
        _create_salt_file(home)
    salt = path.read_text(encoding="ascii", errors="replace").strip()
    if len(salt) < MIN_SALT_FILE_CHARS:
        raise ModeshiftError(
            f"The API-key salt file {path} holds {len(salt)} characters, fewer than {MIN_SALT_FILE_CHARS}: "
            "it is damaged, and API keys hashed with it would not be protected.",
            "If nothing was staged with it yet, delete the file (a new random salt is created); otherwise restore "
            "it from a backup, or set MODESHIFT_SALT to the salt used before.",
        )
    return salt


def _create_salt_file(home: Home) -> None:
    """Write a new random salt to ``home.secret_salt_file`` atomically; keep the existing one if a concurrent process
    created it first."""
    path = home.secret_salt_file
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_sibling(path)
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(secrets.token_hex(32))
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(tmp, path)  # atomic and never overwrites: the first creator wins
        except FileExistsError:
            pass
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
    finally:
        tmp.unlink(missing_ok=True)
