"""``modeshift ui``: the Dagster UI (``dagster dev``) on this home's instance, whatever the current directory.

``dagster dev`` needs ``DAGSTER_HOME`` as an absolute path, and the code location must see the same
``MODESHIFT_HOME`` as ``modeshift materialize`` did (the partitions begin on that home's ``ingest.start_date``);
this command sets both from the home and loads the definitions by module name, so it works outside the repository
too. From the repository root, ``DAGSTER_HOME=$PWD/.modeshift/dagster dagster dev`` (workspace.yaml) is the same for
the default home."""

from __future__ import annotations

import os
import sys

from pipelines.core.home import Home
from pipelines.core.object_store import configured_store

DEFINITIONS_MODULE = "pipelines.definitions"


def ui_hint(home: Home) -> str:
    """The command that opens the Dagster UI on ``home``: ``modeshift ui``, with ``MODESHIFT_HOME`` when ``home``
    is not the default one of the current directory."""
    if home.root == Home.from_env().root and "MODESHIFT_HOME" not in os.environ:
        return "modeshift ui"
    return f"MODESHIFT_HOME={home.root} modeshift ui"


def ui_command_line(home: Home, host: str, port: int) -> tuple[list[str], dict[str, str]]:
    """The ``dagster dev`` command (this interpreter's) and the environment that serve ``home`` on ``host:port``:
    ``MODESHIFT_HOME`` and ``DAGSTER_HOME`` absolute (in object mode a ``DAGSTER_HOME`` already set, the
    deployment's instance, is kept), the instance's ``dagster.yaml`` written when missing."""
    from pipelines.app.runner import dagster_instance  # writes dagster.yaml as materialize would

    deployed = configured_store() is not None and os.environ.get("DAGSTER_HOME")  # object mode: its instance
    dagster_home = os.environ["DAGSTER_HOME"] if deployed else str(home.dagster_home)
    env = dict(os.environ) | {"MODESHIFT_HOME": str(home.root), "DAGSTER_HOME": dagster_home}
    os.environ.update(MODESHIFT_HOME=env["MODESHIFT_HOME"], DAGSTER_HOME=env["DAGSTER_HOME"])
    dagster_instance(home).dispose()
    argv = [sys.executable, "-m", "dagster", "dev", "-m", DEFINITIONS_MODULE, "-h", host, "-p", str(port)]
    return argv, env


def run_ui(home: Home, host: str, port: int) -> None:
    """Replace this process with ``dagster dev`` serving ``home`` (returns only if it cannot start)."""
    argv, env = ui_command_line(home, host, port)
    print(
        f"Dagster UI on http://{host}:{port} (DAGSTER_HOME={env['DAGSTER_HOME']}); Ctrl-C stops it",
        flush=True,
    )
    os.execve(argv[0], argv, env)  # noqa: S606 - our own interpreter, our arguments
