#!/usr/bin/env python3
"""Set up modeshift in ./.venv from the project's own files, then run the demo or the tests.

    python3.11 dev.py demo    # set up, then run the whole pipeline on the bundled demo data
    python3.11 dev.py test    # set up, then lint (ruff, the import-layer contract) and run the whole test suite

Idempotent: the virtual environment is (re)installed only when pyproject.toml changed since the last set-up.
Only the Python standard library is used here, so a fresh machine needs nothing but Python 3.11.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".modeshift-installed"


def _run(*command: str | Path, **kwargs: object) -> None:
    completed = subprocess.run([str(part) for part in command], cwd=ROOT, **kwargs)  # noqa: S603
    if completed.returncode != 0:
        sys.exit(completed.returncode)


def setup() -> None:
    """Create .venv and install modeshift with its dev extras when pyproject.toml changed (or on first use)."""
    if sys.version_info[:2] != (3, 11):
        sys.exit(f"modeshift needs Python 3.11; this is {sys.version.split()[0]}. Run: python3.11 dev.py ...")
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == wanted:
        return
    if not (BIN / "python").exists():
        print("creating .venv ...", flush=True)
        venv.create(VENV, with_pip=True)
    print(
        "installing modeshift and its dependencies into .venv (first time: about two minutes) ...", flush=True
    )
    _run(BIN / "python", "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-e", ".[dev]")
    STAMP.write_text(wanted)


def main() -> None:
    """Dispatch ``demo`` / ``test`` (extra arguments go to the modeshift demo or to pytest)."""
    if len(sys.argv) < 2 or sys.argv[1] not in ("demo", "test", "setup"):
        sys.exit(__doc__)
    setup()
    command, extra = sys.argv[1], sys.argv[2:]
    if command == "demo":
        _run(BIN / "modeshift", "demo", *extra)
    elif command == "test":
        _run(BIN / "ruff", "check", ".")
        _run(BIN / "ruff", "format", "--check", ".")
        _run(BIN / "lint-imports", "--no-cache")  # the layer contract in pyproject.toml
        # one worker per core, each test file on one worker (its module fixtures built once); no extra arguments =
        # the whole suite as CI runs it
        _run(BIN / "python", "-m", "pytest", "-n", "auto", "--dist", "loadfile", *extra)


if __name__ == "__main__":
    main()
