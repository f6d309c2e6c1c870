#!/usr/bin/env python3
"""Set up modeshift in ./.venv from the project's own files, then run the demo or the tests.

    python3.11 dev.py demo    # set up, then run the whole pipeline on the bundled demo data
    python3.11 dev.py test    # set up, then lint (ruff, the import-layer contract) and run the whole test suite
    python3.11 dev.py lock    # write requirements.lock from the packages installed in .venv now

Idempotent: the virtual environment is (re)installed only when pyproject.toml or requirements.lock changed since the
last set-up. The install takes the exact versions of requirements.lock (every package, pinned: the set the tests
last passed with) through uv, which pip installs into .venv first (seconds on a warm cache); where uv cannot run,
pip installs the same pins. Only the Python standard library is used here, so a fresh machine needs nothing but
Python 3.11.
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
LOCK = ROOT / "requirements.lock"
UV = "uv==0.13.8"


def _run(*command: str | Path, **kwargs: object) -> None:
    completed = subprocess.run([str(part) for part in command], cwd=ROOT, **kwargs)  # noqa: S603
    if completed.returncode != 0:
        sys.exit(completed.returncode)


def _installed_stamp() -> str:
    """A digest of what the environment is installed from (pyproject.toml and the lock)."""
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes())
    if LOCK.exists():
        digest.update(LOCK.read_bytes())
    return digest.hexdigest()


def _install() -> None:
    """Install modeshift with its dev extras at the lock's versions: with uv when it runs, else with pip."""
    requirements = ["-r", str(LOCK)] if LOCK.exists() else []
    pip = [BIN / "python", "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    if requirements:
        bootstrapped = subprocess.run([*map(str, pip), UV], cwd=ROOT).returncode == 0  # noqa: S603
        uv = [BIN / "uv", "pip", "install", "--quiet", "--python", BIN / "python"]
        if (
            bootstrapped
            and subprocess.run([*map(str, uv), *requirements, "-e", ".[dev]"], cwd=ROOT).returncode == 0
        ):  # noqa: S603
            return
        print("uv could not install the lock; installing it with pip ...", flush=True)
    _run(*pip, *requirements, "-e", ".[dev]")


def setup() -> None:
    """Create .venv and install modeshift with its dev extras when pyproject.toml or the lock changed (or on first
    use)."""
    if sys.version_info[:2] != (3, 11):
        sys.exit(f"modeshift needs Python 3.11; this is {sys.version.split()[0]}. Run: python3.11 dev.py ...")
    wanted = _installed_stamp()
    if STAMP.exists() and STAMP.read_text() == wanted:
        return
    if not (BIN / "python").exists():
        print("creating .venv ...", flush=True)
        venv.create(VENV, with_pip=True)
    print("installing modeshift and its pinned dependencies into .venv ...", flush=True)
    _install()
    STAMP.write_text(wanted)


def lock() -> None:
    """Write requirements.lock: every package installed in .venv now (the project itself left out), pinned."""
    frozen = subprocess.run(  # noqa: S603
        [
            str(BIN / "python"),
            "-m",
            "pip",
            "freeze",
            "--all",
            "--exclude-editable",
            "--disable-pip-version-check",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.splitlines()
    pins = sorted(
        line
        for line in frozen
        if "==" in line and not line.lower().startswith(("modeshift==", "uv==", "pip=="))
    )
    header = (
        "# Exact versions of every package the tests last passed with; written by `python3.11 dev.py lock`.\n"
    )
    LOCK.write_text(header + "\n".join(pins) + "\n")
    print(f"wrote {len(pins)} pins to {LOCK.name}")


def main() -> None:
    """Dispatch ``demo`` / ``test`` (extra arguments go to the modeshift demo or to pytest)."""
    if len(sys.argv) < 2 or sys.argv[1] not in ("demo", "test", "setup", "lock"):
        sys.exit(__doc__)
    if sys.argv[1] == "lock":
        lock()
        return
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
