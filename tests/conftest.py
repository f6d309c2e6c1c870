"""Shared fixtures: every test gets its own modeshift home in a temporary directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.config import Settings
from pipelines.home import Home


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Home:
    """A fresh, empty modeshift home (``MODESHIFT_HOME`` points at it for the test)."""
    root = tmp_path / "home"
    monkeypatch.setenv("MODESHIFT_HOME", str(root))
    monkeypatch.setenv("MODESHIFT_SALT", "test-salt")
    return Home(root).ensure()


@pytest.fixture
def settings(home: Home) -> Settings:
    """The default settings of the test home."""
    return Settings.load(home)
