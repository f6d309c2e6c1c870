"""The home a command works on: ``MODESHIFT_HOME`` in local mode; in object mode (``MODESHIFT_LAKE``) a working
copy of the lake, with every manifest pulled, the data the command reads brought in, and what it wrote committed
when it succeeds.

The working copy is ``MODESHIFT_HOME`` when set (kept as a cache between commands), else a scratch directory made
for the command and deleted after it. ``MODESHIFT_HOME`` is pointed at it for the command's duration, so the Dagster
runs ``materialize`` executes in process share it instead of each pulling the lake again.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pipelines.core.errors import ModeshiftError
from pipelines.core.home import Home
from pipelines.core.lake_mirror import LakeMirror, PushResult
from pipelines.core.object_store import configured_store
from pipelines.core.settings import Settings
from pipelines.lake.step_inputs import Wanted
from pipelines.ops.resources import scratch_home


def local_home() -> Home:
    """The local home ``MODESHIFT_HOME`` names, created if needed; a clear error when it cannot be."""
    try:
        return Home.from_env().ensure()
    except PermissionError as error:
        raise ModeshiftError(str(error) + ".", "Set MODESHIFT_HOME to a writable directory.") from None
    except OSError as error:
        raise ModeshiftError(
            f"Cannot create the modeshift home: {error.strerror} ({error.filename}).",
            "Set MODESHIFT_HOME to a writable directory.",
        ) from None


def existing_home() -> Home:
    """The local home ``MODESHIFT_HOME`` names, for a command that only reads: an error, never a new home, when it
    does not exist."""
    home = Home.from_env()
    if not home.root.is_dir():
        raise ModeshiftError(
            f"There is no modeshift home at {home.root}.",
            "Set MODESHIFT_HOME to your home, or run 'modeshift ingest' and 'modeshift materialize' first.",
        )
    return home


@dataclass
class WorkingCopy:
    """The home a command uses, and in object mode the mirror that syncs it with the lake."""

    home: Home
    mirror: LakeMirror | None

    def bring_in(self, wanted: Wanted) -> None:
        """Object mode: download the ``wanted`` data files (see ``pipelines.lake.step_inputs``)."""
        if self.mirror is not None:
            self.mirror.pull_files(wanted)

    def commit(self) -> PushResult | None:
        """Object mode: commit what the command changed (None in local mode)."""
        return self.mirror.push() if self.mirror is not None else None

    @property
    def where(self) -> str:
        """The lake's location, as the user named it."""
        return self.mirror.store.url if self.mirror is not None else str(self.home.lake)


@contextmanager
def working_copy(
    wanted: Wanted | None = None, commit: bool = False, settle: bool = False, read_only: bool = False
) -> Iterator[WorkingCopy]:
    """The command's home (see the module). With ``commit`` its changes are committed when the block succeeds;
    with ``settle`` its settings are validated first (a bad config.yaml or rate card is reported in one line per
    problem, before any Dagster run is created); with ``read_only`` a local home that does not exist is an error,
    never created."""
    store = configured_store()
    if store is None:
        home = existing_home() if read_only else local_home()
        if settle:
            Settings.load(home)
        yield WorkingCopy(home, None)
        return
    own = None if os.environ.get("MODESHIFT_HOME") else scratch_home("modeshift-cli-")
    previous = os.environ.get("MODESHIFT_HOME")
    root = Path(own) if own is not None else Home.from_env().root
    os.environ["MODESHIFT_HOME"] = str(root)
    try:
        home = Home(root).ensure()
        mirror = LakeMirror(store, root)
        mirror.pull_metadata()
        if settle:
            Settings.load(home)
        copy = WorkingCopy(home, mirror)
        if wanted:
            copy.bring_in(wanted)
        yield copy
        if commit:
            copy.commit()
    finally:
        if previous is None:
            os.environ.pop("MODESHIFT_HOME", None)
        else:
            os.environ["MODESHIFT_HOME"] = previous
        if own is not None:
            shutil.rmtree(own, ignore_errors=True)
