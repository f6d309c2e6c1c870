"""Shared fixtures: every test gets its own modeshift home in a temporary directory."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

# The Dagster partitions begin on the ingest.start_date of the home named when pipelines.ops.partitions is first
# imported: an empty home here, so they begin on the shipped default in every test process, whatever ./.modeshift
# (a demo run from the repository root, say) holds. Each test's home fixture then points MODESHIFT_HOME elsewhere.
os.environ["MODESHIFT_HOME"] = tempfile.mkdtemp(prefix="modeshift-tests-import-home-")

from pipelines.core.home import Home  # noqa: E402
from pipelines.core.settings import Settings  # noqa: E402


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Files with slow tests first (in collection order otherwise): with one file per worker (``--dist loadfile``)
    the long files start at once and the short ones fill in behind them, instead of a long file starting last."""
    slow_files = {item.path for item in items if item.get_closest_marker("slow") is not None}
    items.sort(key=lambda item: item.path not in slow_files)


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


def _write_two_weeks(path: Path) -> None:
    """Two ISO weeks (2026-11-02 .. 2026-11-15) of four endpoints, one canonical JSONL file (about 25k rows)."""
    import json
    from datetime import UTC, datetime, timedelta

    import numpy as np

    start = datetime(2026, 11, 2, tzinfo=UTC)
    rng = np.random.default_rng(11)
    big = "meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo"
    rows = []
    for minute in range(14 * 1440):
        at = start + timedelta(minutes=minute)
        # steady-big: one request a minute with large prompts (a dedicated replica pays for itself)
        rows.append(("steady-big", big, at, 1_600_000, 2_000, True, None))
        if minute % 7 == 0:
            rows.append(
                ("small-chat", big, at + timedelta(seconds=int(rng.integers(60))), 500, 100, True, None)
            )
        if at.hour == 2 and minute % 3 == 0:  # nightly offline job
            rows.append(("nightly", big, at, 20_000, 500, False, False))
        if minute % 97 == 0:
            rows.append(("unpriced", "acme/custom-7b", at, 300, 50, True, None))
    with open(path, "w") as handle:
        for i, (endpoint, model, at, tokens_in, tokens_out, stream, interactive) in enumerate(rows):
            handle.write(
                json.dumps(
                    {
                        "request_id": f"r{i}",
                        "ts": at.isoformat(),
                        "endpoint": endpoint,
                        "model": model,
                        "input_tokens": tokens_in,
                        "output_tokens": tokens_out,
                        "stream": stream,
                        "interactive": interactive,
                        "prompt": "PROMPT-CANARY-9d1",
                    }
                )
                + "\n"
            )


@pytest.fixture(scope="session")
def _built_home_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import os

    from pipelines.app.runner import materialize_pending
    from pipelines.ingest.landing import land_file

    root = tmp_path_factory.mktemp("built") / "home"
    with pytest.MonkeyPatch.context() as patch:  # materialize_pending also sets DAGSTER_HOME: undone on exit
        patch.setenv("MODESHIFT_HOME", str(root))
        patch.setenv("MODESHIFT_SALT", "test-salt")
        patch.setenv("DAGSTER_HOME", os.environ.get("DAGSTER_HOME", str(root / "dagster")))
        home = Home(root).ensure()
        source = root.parent / "two-weeks.jsonl"
        _write_two_weeks(source)
        land_file(home, source, "canonical", {})
        materialize_pending(home, progress=lambda _: None)
    return root


@pytest.fixture
def built_home(_built_home_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Home:
    """A home where two full weeks (2026-11-02 and 2026-11-09) of four endpoints went through the whole pipeline:
    steady-big (dedicated pays), small-chat (serverless), nightly (offline: batch), unpriced (no price).
    A private copy per test; MODESHIFT_HOME and DAGSTER_HOME point at it."""
    import shutil

    root = tmp_path / "home"
    shutil.copytree(_built_home_template, root, symlinks=True)
    (root / "dagster" / "dagster.yaml").exists()
    monkeypatch.setenv("MODESHIFT_HOME", str(root))
    monkeypatch.setenv("MODESHIFT_SALT", "test-salt")
    monkeypatch.setenv("DAGSTER_HOME", str(root / "dagster"))
    return Home(root)
