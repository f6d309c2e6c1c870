"""The README's ways to open the Dagster UI work as written: ``modeshift ui`` serves the home's instance on
127.0.0.1 from any directory, and the repository's workspace.yaml (``dagster dev`` from the root) loads."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from pipelines.app.ui import DEFINITIONS_MODULE, ui_command_line, ui_hint
from pipelines.core.home import Home

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text(encoding="utf-8")
WORKSPACE_LINE = "DAGSTER_HOME=$PWD/.modeshift/dagster dagster dev"
LOCATIONS = "{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus locationOrLoadError { __typename } } } } }"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _locations(port: int) -> list[dict] | None:
    """The UI's code locations (None while it does not answer)."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": LOCATIONS}).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - our own server on 127.0.0.1
            return json.load(response)["data"]["workspaceOrError"]["locationEntries"]
    except OSError:
        return None


def test_the_readme_names_both_ways():
    assert "modeshift ui " in README and WORKSPACE_LINE in README
    assert (
        "DAGSTER_HOME=$MODESHIFT_HOME/dagster" not in README
    )  # empty after the demo (no MODESHIFT_HOME set)


def test_ui_command_line_sets_absolute_homes_and_writes_the_instance(home, monkeypatch):
    argv, env = ui_command_line(home, "127.0.0.1", 3123)
    assert argv[1:] == ["-m", "dagster", "dev", "-m", DEFINITIONS_MODULE, "-h", "127.0.0.1", "-p", "3123"]
    assert env["MODESHIFT_HOME"] == str(home.root) and env["DAGSTER_HOME"] == str(home.dagster_home)
    assert Path(env["DAGSTER_HOME"]).is_absolute() and (home.dagster_home / "dagster.yaml").is_file()
    assert ui_hint(home) == f"MODESHIFT_HOME={home.root} modeshift ui"
    monkeypatch.delenv("MODESHIFT_HOME")
    monkeypatch.chdir(home.root.parent)
    assert (
        ui_hint(Home(home.root.parent / ".modeshift")) == "modeshift ui"
    )  # the default home: nothing to add


def test_modeshift_ui_serves_the_homes_definitions_on_localhost(home, tmp_path):
    port = _free_port()
    env = os.environ | {"MODESHIFT_HOME": str(home.root), "PYTHONPATH": str(REPO)}
    env.pop("DAGSTER_HOME", None)
    ui = subprocess.Popen(  # noqa: S603 - our own interpreter and CLI
        [sys.executable, "-m", "pipelines.app.cli", "ui", "--port", str(port)],
        cwd=tmp_path,  # not the repository: the definitions are loaded by module name
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: dagster dev, its code server and daemon stop together
    )
    try:
        deadline = time.monotonic() + 240
        entries = None
        while time.monotonic() < deadline and ui.poll() is None:
            entries = _locations(port)
            if entries and all(entry["loadStatus"] == "LOADED" for entry in entries):
                break
            time.sleep(1)
        assert ui.poll() is None, ui.stdout.read().decode(errors="replace")[-3000:]
        assert entries is not None and [entry["name"] for entry in entries] == [DEFINITIONS_MODULE]
        assert entries[0]["locationOrLoadError"]["__typename"] == "RepositoryLocation"  # loaded, not an error
        assert (home.dagster_home / "dagster.yaml").is_file()  # the home's instance, not a temporary one
    finally:
        os.killpg(ui.pid, signal.SIGTERM)
        try:
            ui.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(ui.pid, signal.SIGKILL)
            ui.wait()


def test_the_workspace_file_loads_from_the_repository_root(home):
    env = os.environ | {"MODESHIFT_HOME": str(home.root), "DAGSTER_HOME": str(home.dagster_home)}
    home.dagster_home.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(  # noqa: S603 - the dagster CLI of this environment
        [str(Path(sys.executable).parent / "dagster"), "definitions", "validate", "-w", "workspace.yaml"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    assert "modeshift" in done.stdout + done.stderr  # the location named in workspace.yaml
