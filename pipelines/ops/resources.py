"""The Dagster resource every asset uses to find the modeshift home and its settings.

In the default local mode the home is ``MODESHIFT_HOME`` and holds the lake. In object mode (``MODESHIFT_LAKE`` set,
see ``pipelines.core.object_store``) the home is this worker's working copy: ``MODESHIFT_HOME`` when set (a cache
kept between runs), else a fresh scratch directory under ``MODESHIFT_SCRATCH`` (default: the system's temporary
directory) made for this process (a run, a step process, the code server's sensor ticks) and deleted when it exits. Each step then calls :meth:`ModeshiftResource.step_home`
(which brings in what the step reads) and :meth:`ModeshiftResource.commit` (which commits what it wrote).
"""

from __future__ import annotations

import multiprocessing.util
import os
import shutil
import tempfile
from pathlib import Path

from dagster import AssetExecutionContext, ConfigurableResource, InitResourceContext
from pydantic import PrivateAttr

from pipelines.core.home import Home
from pipelines.core.lake_mirror import LakeMirror, PushResult
from pipelines.core.object_store import configured_store
from pipelines.core.settings import Settings
from pipelines.lake.step_inputs import Wanted, step_inputs

SCRATCH_ENV = "MODESHIFT_SCRATCH"


def scratch_home(prefix: str = "modeshift-") -> Path:
    """A new empty scratch directory under ``MODESHIFT_SCRATCH`` (default: the system's temporary directory)."""
    root = os.environ.get(SCRATCH_ENV) or None
    if root is not None:
        Path(root).mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=prefix, dir=root))


_PROCESS_SCRATCH: dict[tuple[str, int], Path] = {}


def process_scratch(lake_url: str) -> Path:
    """This process's working copy of the lake at ``lake_url``: made on first use, shared by the runs, steps and
    sensor ticks the process executes, and deleted when it exits (also for a step process of Dagster's
    multiprocess executor, whose exit runs multiprocessing's finalizers, not atexit)."""
    key = (lake_url, os.getpid())
    if key not in _PROCESS_SCRATCH:
        path = scratch_home()
        multiprocessing.util.Finalize(None, shutil.rmtree, args=(str(path),), kwargs={"ignore_errors": True},
                                      exitpriority=10)  # fmt: skip
        _PROCESS_SCRATCH[key] = path
    return _PROCESS_SCRATCH[key]


class ModeshiftResource(ConfigurableResource):
    """Where modeshift keeps its state. ``home_dir`` empty means ``MODESHIFT_HOME`` (default ``./.modeshift``);
    ``lake`` empty means ``MODESHIFT_LAKE`` (default: the lake is inside the home).

    The settings are loaded and validated once per run or sensor tick, when the resource is set up, so a bad
    config.yaml fails there with its one-line ``ModeshiftError`` before any step computes anything."""

    home_dir: str = ""
    lake: str = ""
    _settings: Settings | None = PrivateAttr(default=None)
    _mirror: LakeMirror | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: InitResourceContext) -> None:
        """Open the lake (object mode: a working copy with every manifest) and load the settings before the first
        step (a bad config.yaml fails the resource, not a step)."""
        self._open_lake()
        self.settings()

    def _open_lake(self) -> None:
        store = configured_store(self.lake or None)
        if store is None or self._mirror is not None:
            return
        if self.home_dir or os.environ.get("MODESHIFT_HOME"):
            scratch = Home.from_env().root if not self.home_dir else Path(self.home_dir).resolve()
        else:
            scratch = process_scratch(store.url)
        self._mirror = LakeMirror(store, scratch)
        Home(scratch).ensure()
        self._mirror.pull_metadata()

    @property
    def mirror(self) -> LakeMirror | None:
        """The working copy's mirror in object mode, None in local mode."""
        self._open_lake()
        return self._mirror

    def home(self) -> Home:
        """The home directory (object mode: the working copy), created if needed."""
        mirror = self.mirror
        if mirror is not None:
            return Home(mirror.scratch).ensure()
        return (Home(Path(self.home_dir).resolve()) if self.home_dir else Home.from_env()).ensure()

    def settings(self) -> Settings:
        """The home's validated settings (shipped defaults overlaid with config.yaml), loaded once."""
        if self._settings is None:
            self._settings = Settings.load(self.home())
        return self._settings

    def home_with(self, wanted: Wanted) -> Home:
        """The home, with (object mode) the manifests refreshed and the ``wanted`` data files brought in."""
        mirror = self.mirror
        if mirror is not None:
            mirror.pull_metadata()
            mirror.pull_files(wanted)
        return self.home()

    def step_home(self, context: AssetExecutionContext) -> Home:
        """The home for the step of ``context``: in object mode, with what its assets read for its partition."""
        if self.mirror is None:
            return self.home()
        self._mirror.pull_metadata()
        steps = {key.path[-1] for key in context.selected_asset_keys}
        partition_key = context.partition_key if context.has_partition_key else None
        wanted = step_inputs(self.home(), self.settings(), steps, partition_key)
        downloaded = self._mirror.pull_files(wanted)
        context.log.info(
            f"lake {self._mirror.store.url}: brought in {downloaded:,} bytes for {sorted(steps)}"
        )
        return self.home()

    def commit(self, context: AssetExecutionContext | None = None) -> PushResult | None:
        """Object mode: commit to the lake every unit and object the step wrote (None in local mode)."""
        mirror = self.mirror
        if mirror is None:
            return None
        result = mirror.push()
        if context is not None:
            context.log.info(
                f"lake {mirror.store.url}: committed {len(result.units)} unit(s), {len(result.objects)} object(s)"
                + (f", deleted {len(result.deleted_units) + len(result.deleted_objects)}" if result.deleted_units
                   or result.deleted_objects else "")
            )  # fmt: skip
        return result
