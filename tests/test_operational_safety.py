"""Operational safety (issue #12, "nothing lost, nothing poisoned"): each test class is one class of failure, tried
in several shapes with real processes, real locks, real SIGKILLs and a real full filesystem.

* two materializes on one home at once (the second waits, or refuses with --no-wait; ingest stays allowed);
* raw landed bytes left by a kill at the wrong moment (after staging's commit, between the copy and its manifest);
* the same request_id on two days of its dedupe window (kept once, re-runs and late files exactly-once);
* a full disk (a real 2 MB tmpfs, and the file-size limit);
* a salt file killed half-created, empty or short;
* an analyst holding warehouse.duckdb open.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import pytest
from dagster import DagsterInstance, DagsterRunStatus

from pipelines.app.cli import main
from pipelines.app.runner import materialize_pending
from pipelines.core.atomic import remove_stale_temporaries
from pipelines.core.calendar import DedupeWindow
from pipelines.core.errors import ModeshiftError
from pipelines.core.home import Home
from pipelines.core.settings import Settings
from pipelines.delivery.report import render_report
from pipelines.delivery.warehouse import refresh_ingest_tables, warehouse_lock_error
from pipelines.ingest.day_merge import pending_days, read_merged
from pipelines.ingest.landing import land_file, landed_files, remove_raw_leftovers
from pipelines.ingest.privacy import MIN_SALT_FILE_CHARS, api_key_salt

REPO = Path(__file__).resolve().parents[1]
MODEL = "meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo"


def _write_rows(path: Path, count: int, first: int = 0, day: str = "2026-11-02") -> Path:
    rows = [
        {
            "request_id": f"r{i}",
            "ts": f"{day}T{(i // 60) % 24:02d}:{i % 60:02d}:00Z",
            "endpoint": "chat",
            "model": MODEL,
            "input_tokens": 100 + i,
            "output_tokens": 10,
            "prompt": "RAW-PROMPT-CANARY",
            "api_key": "sk-RAW-KEY-CANARY",
        }
        for i in range(first, first + count)
    ]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def _env(home: Home) -> dict[str, str]:
    return os.environ | {
        "MODESHIFT_HOME": str(home.root),
        "MODESHIFT_SALT": "test-salt",
        "DAGSTER_HOME": str(home.dagster_home),
        "PYTHONPATH": str(REPO),
    }


def _python(script: str, home: Home, *args: str, **popen: object) -> subprocess.Popen[str]:
    env = _env(home)
    if "MODESHIFT_SALT" not in os.environ:  # a test that took the salt away takes it from its children too
        del env["MODESHIFT_SALT"]
    return subprocess.Popen(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", script, str(home.root), *args],
        cwd=REPO,
        env=env,
        text=True,
        **popen,  # type: ignore[arg-type]
    )


def _raw_landed_bytes(home: Home) -> list[str]:
    """Files in landing/ that may hold raw log bytes: everything but manifests and the landing lock."""
    return sorted(
        p.name
        for p in home.landing.iterdir()
        if p.is_file() and not p.name.endswith(".manifest.json") and p.name != ".landing.lock"
    )


def _accepted_ids(home: Home) -> list[str]:
    files = sorted(str(p) for p in home.requests.glob("day=*/part*.parquet"))
    with duckdb.connect() as con:
        return [
            r[0]
            for r in con.sql(
                "SELECT request_id FROM read_parquet($f) ORDER BY 1", params={"f": files}
            ).fetchall()
        ]


# ------------------------------------------------------------------------------ 1. one materialize at a time

# Imports everything first (the slow part), then waits for the gate file, so that both children call the command at
# the same instant; prints its pid, then runs `modeshift <argv[2:]>`.
GATED_CLI = """
import os, sys, time
from pathlib import Path
from pipelines.app.cli import main
import pipelines.definitions
gate = Path(sys.argv[1]).parent / "gate"
print(f"pid {os.getpid()}", flush=True)
while not gate.exists():
    time.sleep(0.005)
started = time.monotonic()
code = main(sys.argv[2:])
print(f"took {time.monotonic() - started:.3f} s", flush=True)
sys.exit(code)
"""

HOLD_LOCK = """
import sys, time
from pathlib import Path
from pipelines.core.home import Home
from pipelines.core.run_lock import materialize_lock
with materialize_lock(Home(Path(sys.argv[1])), command="materialize"):
    print("holding", flush=True)
    time.sleep(120)
"""


def _start_together(home: Home, *argv: str) -> list[tuple[int, str, str, float]]:
    """Start two gated ``modeshift`` children, open the gate, return (returncode, stdout, stderr, seconds from the
    gate to the child's exit) each."""
    children = [
        _python(GATED_CLI, home, *argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)
    ]
    for child in children:
        assert child.stdout is not None and child.stdout.readline().startswith("pid ")
    (home.root.parent / "gate").touch()
    results = []
    for child in children:
        out, err = child.communicate(timeout=240)
        took = float(out.rsplit("took ", 1)[1].split()[0])  # measured by the child, from the gate to its exit
        results.append((child.returncode, out, err, took))
    return results


def _instance_is_healthy(home: Home) -> list[str]:
    """Every run in the home's Dagster instance (which must open and answer), as job names; all must have
    succeeded."""
    with DagsterInstance.from_config(str(home.dagster_home)) as instance:
        runs = instance.get_runs()
        assert runs, "no runs recorded"
        assert {run.status for run in runs} == {DagsterRunStatus.SUCCESS}
        return [run.job_name for run in runs]


@pytest.mark.slow
def test_two_materializes_started_at_the_same_instant_run_one_after_the_other(
    home: Home, tmp_path: Path
) -> None:
    land_file(home, _write_rows(tmp_path / "a.jsonl", 50), "canonical", {})
    assert not (home.dagster_home / "dagster.yaml").exists()  # both would create the instance: the worst case
    results = _start_together(home, "materialize")
    assert [r[0] for r in results] == [0, 0], [r[2][-500:] for r in results]
    waited = [r for r in results if "waiting for the materialize of pid" in r[1]]
    assert len(waited) == 1, [r[1] for r in results]
    jobs = _instance_is_healthy(home)
    assert jobs.count("stage_files") == 1  # the second found the file staged: nothing was done twice
    assert _accepted_ids(home) == sorted(f"r{i}" for i in range(50))
    materialize_pending(home, progress=lambda _: None)  # and a third run still works on that instance


@pytest.mark.slow
def test_with_no_wait_the_second_materialize_refuses_at_once_naming_the_first(
    home: Home, tmp_path: Path
) -> None:
    land_file(home, _write_rows(tmp_path / "a.jsonl", 50), "canonical", {})
    results = _start_together(home, "materialize", "--no-wait")
    codes = sorted(r[0] for r in results)
    assert codes == [0, 2], [r[2][-500:] for r in results]
    refused = next(r for r in results if r[0] == 2)
    ran = next(r for r in results if r[0] == 0)
    assert "Another modeshift run holds this home" in refused[2]
    assert "(modeshift materialize)" in refused[2] and "started at" in refused[2]
    assert refused[3] < min(5.0, ran[3] / 2)  # it did not wait for the other one
    _instance_is_healthy(home)


def test_a_run_refused_just_after_the_holder_took_the_lock_still_names_it(home: Home) -> None:
    # the holder has the lock but writes its record 0.3 s later (the moment a second run can be refused in)
    import fcntl
    import threading

    from pipelines.core.run_lock import materialize_lock

    home.materialize_lock_file.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(home.materialize_lock_file, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        record = {"pid": 4242, "started_at": "2026-12-02T10:00:00+00:00", "command": "materialize"}
        late = threading.Timer(0.3, lambda: os.pwrite(fd, json.dumps(record).encode(), 0))
        late.start()
        with pytest.raises(ModeshiftError, match="pid 4242 ") as refused:
            with materialize_lock(home, wait=False):
                pass
        late.join()
        assert "(modeshift materialize)" in str(refused.value)
    finally:
        os.close(fd)


def test_ingest_stays_allowed_while_a_materialize_holds_the_home_and_a_kill_releases_it(
    home: Home, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    holder = _python(HOLD_LOCK, home, stdout=subprocess.PIPE)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        assert main(["ingest", "--format", "canonical", str(_write_rows(tmp_path / "a.jsonl", 5))]) == 0
        assert len(landed_files(home)) == 1
        assert main(["materialize", "--no-wait"]) == 2
        assert f"pid {holder.pid} " in capsys.readouterr().err
        assert main(["demo", "--no-wait", "--scale", "0.01"]) == 2  # the demo takes the same lock
        error = capsys.readouterr().err
        assert f"pid {holder.pid} " in error and "(modeshift materialize)" in error
        assert main(["forget", "--no-wait", landed_files(home)[0].file_id]) == 2  # so does forget
        assert f"pid {holder.pid} " in capsys.readouterr().err and len(landed_files(home)) == 1
        assert not (home.root / "demo-source").exists()  # refused before doing anything
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
    assert main(["materialize", "--no-wait", "--quiet"]) == 0  # the kernel released the dead holder's lock
    assert len(_accepted_ids(home)) == 5


def test_a_waiting_materialize_says_whom_it_waits_for_then_runs(home: Home, tmp_path: Path) -> None:
    land_file(home, _write_rows(tmp_path / "a.jsonl", 5), "canonical", {})
    holder = _python(HOLD_LOCK, home, stdout=subprocess.PIPE)
    lines: list[str] = []
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"

        def progress(line: str) -> None:
            lines.append(line)
            if line.startswith("waiting for"):
                holder.send_signal(signal.SIGKILL)  # the holder ends while we wait

        materialize_pending(home, progress=progress)
    finally:
        holder.kill()
        holder.wait(timeout=30)
    assert lines[0].startswith(f"waiting for the materialize of pid {holder.pid} started at ")
    assert len(_accepted_ids(home)) == 5


# --------------------------------------------------------------------- 2. raw landed bytes never stay for good

# Lands or materializes argv[1]'s files and SIGKILLs itself right after (or before) the named atomic step.
KILL_AT = """
import os, signal, sys
from pathlib import Path
import pipelines.definitions
from pipelines.core.home import Home
import pipelines.ingest.staging as staging
import pipelines.ingest.landing as landing
from pipelines.app.runner import materialize_pending

where = sys.argv[2]
def die_after(real):
    def wrapper(*args, **kwargs):
        result = real(*args, **kwargs)
        os.kill(os.getpid(), signal.SIGKILL)
    return wrapper
def die(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)
home = Home(Path(sys.argv[1]))
if where == "after-staging-commit":   # staging's directory swap done, landed bytes not unlinked yet
    staging.replace_dir = die_after(staging.replace_dir)
    materialize_pending(home, progress=lambda _: None)
elif where == "before-manifest":      # the landed copy is in place, its manifest not written yet
    landing.write_json = die
    landing.land_file(home, Path(sys.argv[3]), "canonical", {})
"""


def _killed(home: Home, *args: str) -> None:
    child = _python(KILL_AT, home, *args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, err = child.communicate(timeout=180)
    assert child.returncode == -signal.SIGKILL, err[-2000:]


@pytest.mark.slow
def test_a_kill_after_stagings_commit_leaves_no_raw_bytes_after_the_next_materialize(
    home: Home, tmp_path: Path
) -> None:
    land_file(home, _write_rows(tmp_path / "a.jsonl", 20), "canonical", {})
    _killed(home, "after-staging-commit")
    assert len(_raw_landed_bytes(home)) == 1  # the situation: staged, but raw prompts and keys still landed
    lines: list[str] = []
    materialize_pending(home, progress=lines.append)
    assert _raw_landed_bytes(home) == []
    assert "[cleaned] raw bytes of 1 landed file(s) already staged" in lines
    assert len(_accepted_ids(home)) == 20


def test_a_kill_between_the_landed_copy_and_its_manifest_leaves_no_orphan(
    home: Home, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = _write_rows(tmp_path / "a.jsonl", 20)
    _killed(home, "before-manifest", str(source))
    assert len(_raw_landed_bytes(home)) == 1 and landed_files(home) == []  # an orphan, not a landed file
    assert main(["status"]) == 0
    assert "orphans:   1 landed cop(ies) without a manifest" in capsys.readouterr().out
    orphan = _raw_landed_bytes(home)
    removed = remove_raw_leftovers(home)
    assert [p.name for p in removed.orphans] == orphan and _raw_landed_bytes(home) == []
    assert main(["ingest", "--format", "canonical", str(source)]) == 0  # landing it again works
    assert "1 new file(s)" in capsys.readouterr().out
    materialize_pending(home, progress=lambda _: None)
    assert _raw_landed_bytes(home) == [] and len(_accepted_ids(home)) == 20


HOLD_LANDING = """
import fcntl, os, sys, time
from pathlib import Path
fd = os.open(Path(sys.argv[1]) / "landing" / ".landing.lock", os.O_RDWR | os.O_CREAT)
fcntl.flock(fd, fcntl.LOCK_SH)   # what land_file holds from its copy to its manifest
print("landing", flush=True)
time.sleep(120)
"""


def test_a_copy_a_live_ingest_is_still_writing_is_not_taken_for_an_orphan(home: Home) -> None:
    in_flight = home.landing / "0123456789abcdef0123.jsonl"
    in_flight.write_text('{"request_id": "x"}\n')  # copied, manifest not written yet
    ingest = _python(HOLD_LANDING, home, stdout=subprocess.PIPE)
    try:
        assert ingest.stdout is not None and ingest.stdout.readline().strip() == "landing"
        removed = remove_raw_leftovers(home)
        assert removed.orphan_sweep_skipped and removed.orphans == []
        assert in_flight.exists()
    finally:
        ingest.kill()
        ingest.wait(timeout=30)
    removed = remove_raw_leftovers(home)  # that ingest died without its manifest: now it is an orphan
    assert not removed.orphan_sweep_skipped and removed.orphans == [in_flight]
    assert not in_flight.exists()


# ------------------------------------------------------------------------------------------ 4. a full disk


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Callable[[str], Path]]:
    """Mounts a real tmpfs of the given size (``"2m"``) for the test (needs the right to mount: root); every mount
    is undone afterwards."""
    mounted: list[Path] = []

    def mount(size: str) -> Path:
        mount_point = tmp_path / f"disk-{len(mounted)}"
        mount_point.mkdir()
        done = subprocess.run(  # noqa: S603, S607
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount_point)],
            capture_output=True,
            check=False,
        )
        if done.returncode != 0:
            pytest.skip(
                f"cannot mount a tmpfs here ({done.stderr.decode().strip()}); the rlimit test still runs"
            )
        mounted.append(mount_point)
        return mount_point

    try:
        yield mount
    finally:
        for mount_point in mounted:
            subprocess.run(["umount", "-l", str(mount_point)], check=False)  # noqa: S603, S607


def _home_on(disk: Path, monkeypatch: pytest.MonkeyPatch) -> Home:
    root = disk / "home"
    monkeypatch.setenv("MODESHIFT_HOME", str(root))
    monkeypatch.setenv("DAGSTER_HOME", str(root / "dagster"))
    return Home(root).ensure()


def _fill(directory: Path, name: str) -> Path:
    """Write zeros to ``directory/name`` until the filesystem is full; return the file."""
    path = directory / name
    with open(path, "wb") as handle:
        try:
            while True:
                handle.write(b"\0" * 65536)
                handle.flush()
        except OSError:
            pass
    return path


def test_an_ingest_that_fills_the_disk_says_so_and_keeps_no_partial_copy(
    tmpfs: Callable[[str], Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    tiny_disk = tmpfs("2m")
    home = _home_on(tiny_disk, monkeypatch)
    big = tmp_path / "big.jsonl"
    _write_rows(big, 15_000)  # about 3 MB: does not fit
    free_before = os.statvfs(tiny_disk).f_bavail
    assert main(["ingest", "--format", "canonical", str(big)]) == 2
    error = capsys.readouterr().err
    assert "No space left on the device holding MODESHIFT_HOME" in error and " MB free" in error
    assert "Errno" not in error
    assert list(home.landing.iterdir()) in ([], [home.landing / ".landing.lock"])  # no .partial, no orphan
    assert os.statvfs(tiny_disk).f_bavail == free_before  # the space came back
    small = _write_rows(tmp_path / "small.jsonl", 20)
    assert main(["ingest", "--format", "canonical", str(small)]) == 0  # and the disk is usable again


def test_materialize_on_a_full_disk_says_so_and_recovers_once_space_is_freed(
    tmpfs: Callable[[str], Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tiny_disk = tmpfs("16m")  # room for a whole run once the filler is gone
    home = _home_on(tiny_disk, monkeypatch)
    land_file(home, _write_rows(tmp_path / "a.jsonl", 20), "canonical", {})
    filler = _fill(tiny_disk, "someone-elses-file")
    with pytest.raises(ModeshiftError, match="No space left on the device holding MODESHIFT_HOME") as raised:
        materialize_pending(home, progress=lambda _: None)
    assert "MB free" in str(raised.value)
    filler.unlink()
    materialize_pending(home, progress=lambda _: None)
    assert len(_accepted_ids(home)) == 20 and _raw_landed_bytes(home) == []
    # the instance configuration the failed run could not write is whole now (pools, telemetry off)
    assert "default_limit: 1" in (home.dagster_home / "dagster.yaml").read_text()


DEAD_OWNER_PARTIAL = """
import sys
from pathlib import Path
from pipelines.core.atomic import temp_sibling
print(temp_sibling(Path(sys.argv[1]) / "landing" / "0123456789abcdef0123.jsonl"))
"""


def test_a_partial_copy_left_by_a_dead_ingest_is_removed_before_materialize_needs_the_space(
    tmpfs: Callable[[str], Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tiny_disk = tmpfs("16m")  # room for a whole run once the filler is gone
    home = _home_on(tiny_disk, monkeypatch)
    land_file(home, _write_rows(tmp_path / "a.jsonl", 20), "canonical", {})
    child = _python(DEAD_OWNER_PARTIAL, home, stdout=subprocess.PIPE)
    name, _ = child.communicate(timeout=60)
    partial = _fill(home.landing, Path(name.strip()).name)  # named by a process that has exited
    assert partial.stat().st_size > 1_000_000
    lines: list[str] = []
    materialize_pending(home, progress=lines.append)
    assert not partial.exists() and lines[0] == "[cleaned] 1 temporary file(s) left by writers that died"
    assert len(_accepted_ids(home)) == 20


FILE_SIZE_LIMITED_INGEST = """
import resource, sys
from pipelines.app.cli import main
resource.setrlimit(resource.RLIMIT_FSIZE, (1_000_000, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
sys.exit(main(["ingest", "--format", "canonical", sys.argv[2]]))
"""


def test_an_ingest_over_the_file_size_limit_says_so_and_keeps_no_partial_copy(
    home: Home, tmp_path: Path
) -> None:
    big = _write_rows(tmp_path / "big.jsonl", 15_000)  # about 3 MB, the child may write 1 MB per file
    child = _python(FILE_SIZE_LIMITED_INGEST, home, str(big), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, err = child.communicate(timeout=60)
    assert child.returncode == 2, err[-2000:]
    assert "hit the file-size limit" in err and "Errno" not in err
    assert _raw_landed_bytes(home) == [] and landed_files(home) == []


# ----------------------------------------------------------------------------------------------- 5. the salt

KILLED_CREATING_SALT = """
import os, signal, sys
from pathlib import Path
import pipelines.ingest.privacy as privacy
from pipelines.core.home import Home
def die(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)
privacy.os.link = die   # killed after writing the new salt, before it gets its final name
privacy.api_key_salt(Home(Path(sys.argv[1])))
"""

CREATE_SALT = """
import sys
from pathlib import Path
from pipelines.ingest.privacy import api_key_salt
from pipelines.core.home import Home
print(api_key_salt(Home(Path(sys.argv[1]))), flush=True)
"""


def test_a_kill_while_the_salt_is_created_leaves_no_salt_file_and_the_next_use_creates_a_whole_one(
    home: Home, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MODESHIFT_SALT")
    child = _python(KILLED_CREATING_SALT, home)
    child.wait(timeout=60)
    assert child.returncode == -signal.SIGKILL
    assert not home.secret_salt_file.exists()  # never an empty salt file
    assert remove_stale_temporaries(home.root, recursive=False) != []  # only its temporary, removed
    salt = api_key_salt(home)
    assert len(salt) == 64 and home.secret_salt_file.read_text() == salt
    assert home.secret_salt_file.stat().st_mode & 0o777 == 0o600


def test_processes_creating_the_salt_at_once_all_get_the_same_one(home: Home) -> None:
    env = _env(home)
    del env["MODESHIFT_SALT"]
    children = [
        subprocess.Popen(  # noqa: S603
            [sys.executable, "-c", CREATE_SALT, str(home.root)],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    salts = {child.communicate(timeout=60)[0].strip() for child in children}
    assert len(salts) == 1 and len(salts.pop()) == 64
    assert [p.name for p in home.root.iterdir() if p.name.startswith(".tmp-")] == []


@pytest.mark.parametrize(
    "content",
    ["", "\n", "abc", "x" * (MIN_SALT_FILE_CHARS - 1)],
    ids=["empty", "newline", "short", "one-short"],
)
def test_an_empty_or_short_salt_file_is_refused(
    home: Home, monkeypatch: pytest.MonkeyPatch, content: str
) -> None:
    monkeypatch.delenv("MODESHIFT_SALT")
    home.secret_salt_file.write_text(content)
    with pytest.raises(ModeshiftError, match="API-key salt file .* fewer than 32"):
        api_key_salt(home)
    home.secret_salt_file.write_text("y" * MIN_SALT_FILE_CHARS)
    assert api_key_salt(home) == "y" * MIN_SALT_FILE_CHARS


def test_staging_with_an_empty_salt_file_fails_the_run_clearly_and_hashes_nothing(
    home: Home, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MODESHIFT_SALT")
    home.secret_salt_file.write_text("")
    land_file(home, _write_rows(tmp_path / "a.jsonl", 5), "canonical", {})
    with pytest.raises(ModeshiftError, match="API-key salt file"):
        materialize_pending(home, progress=lambda _: None)
    assert not list(home.staged.glob("*/_manifest.json")) and not list(
        home.requests.glob("day=*/part*.parquet")
    )


# ---------------------------------------------------------------- 6. an analyst holding warehouse.duckdb open

HOLD_WAREHOUSE = """
import sys, time
import duckdb
con = duckdb.connect(sys.argv[2])   # read-write, as an analyst's 'duckdb warehouse.duckdb' would
print("open", flush=True)
time.sleep(120)
"""


def test_an_analyst_holding_the_warehouse_gets_a_clear_error_naming_the_process_and_analytics(
    built_home: Home,
) -> None:
    analyst = _python(HOLD_WAREHOUSE, built_home, str(built_home.warehouse), stdout=subprocess.PIPE)
    try:
        assert analyst.stdout is not None and analyst.stdout.readline().strip() == "open"
        expected = [f"PID {analyst.pid}", "analysts should open analytics.duckdb", "duckdb -readonly"]
        with pytest.raises(ModeshiftError) as refresh:
            refresh_ingest_tables(built_home)
        with pytest.raises(ModeshiftError) as report:
            render_report(built_home.warehouse)
        with pytest.raises(ModeshiftError) as run:
            materialize_pending(built_home, progress=lambda _: None)
        for raised in (refresh, report, run):
            assert all(part in str(raised.value) for part in expected), str(raised.value)
            assert "Conflicting lock" not in str(raised.value)
    finally:
        analyst.kill()
        analyst.wait(timeout=30)
    materialize_pending(built_home, progress=lambda _: None)  # once the session is closed, the refresh works


def test_other_duckdb_errors_are_not_mistaken_for_a_held_lock(home: Home) -> None:
    home.warehouse.write_bytes(b"this is not a duckdb file" * 1000)
    with pytest.raises(duckdb.Error) as raised:
        refresh_ingest_tables(home)
    assert not isinstance(raised.value, ModeshiftError)
    assert warehouse_lock_error(raised.value, home.warehouse) is None


# --------------------------------------------------------------------- 3. request_id dedupe across days


def _request(request_id: str, ts: str) -> dict[str, object]:
    return {
        "request_id": request_id,
        "ts": ts,
        "endpoint": "chat",
        "model": MODEL,
        "input_tokens": 10,
        "output_tokens": 1,
    }


def _write_requests(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def _lake_days(home: Home) -> list[tuple[str, str]]:
    """(request_id, day) of every accepted request, from the lake files."""
    files = sorted(str(p) for p in home.requests.glob("day=*/part*.parquet"))
    with duckdb.connect() as con:
        return con.sql(
            "SELECT request_id, day FROM read_parquet($f, hive_partitioning = true, hive_types_autocast = false) "
            "ORDER BY ALL",
            params={"f": files},
        ).fetchall()


def _duplicates(home: Home) -> list[tuple[str, str, str]]:
    """(request_id, day, reason) of every row quarantined at the day merge, from the warehouse."""
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        return con.sql(
            "SELECT json_extract_string(raw, '$.request_id'), CAST(day AS VARCHAR), reason FROM quarantine "
            "WHERE stage = 'duplicate' ORDER BY ALL"
        ).fetchall()


def _balanced(home: Home) -> bool:
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        return con.sql(
            "SELECT bool_and(rows_in = rows_accepted + rows_quarantined AND rows_pending = 0) FROM ingest_log"
        ).fetchall()[0][0]


WEEK_ROWS = [
    _request("same-week", "2026-11-03T10:00:00Z"),  # Tuesday: kept
    _request("same-week", "2026-11-05T10:00:00Z"),  # Thursday, same ISO week: duplicate
    _request("midnight", "2026-11-08T23:59:00Z"),  # Sunday: kept
    _request("midnight", "2026-11-09T00:01:00Z"),  # the next Monday (another week, the next day): duplicate
    _request("far-apart", "2026-11-02T10:00:00Z"),  # two weeks apart: two requests that share an id
    _request("far-apart", "2026-11-16T10:00:00Z"),
    _request("two-days", "2026-11-08T10:00:00Z"),  # Sunday and the Tuesday after: other weeks, not adjacent
    _request("two-days", "2026-11-10T10:00:00Z"),
    _request("same-day", "2026-11-04T10:00:00Z"),  # the per-day case still holds
    _request("same-day", "2026-11-04T11:00:00Z"),
]


def test_the_same_request_id_on_two_days_of_its_window_is_kept_once(home: Home, tmp_path: Path) -> None:
    land_file(home, _write_requests(tmp_path / "a.jsonl", WEEK_ROWS), "canonical", {})
    materialize_pending(home, progress=lambda _: None)
    assert _lake_days(home) == [
        ("far-apart", "2026-11-02"),
        ("far-apart", "2026-11-16"),
        ("midnight", "2026-11-08"),
        ("same-day", "2026-11-04"),
        ("same-week", "2026-11-03"),
        ("two-days", "2026-11-08"),
        ("two-days", "2026-11-10"),
    ]
    assert _duplicates(home) == [
        ("midnight", "2026-11-09", "duplicate request_id (the first copy, on 2026-11-08, was kept)"),
        ("same-day", "2026-11-04", "duplicate request_id (the first copy, on 2026-11-04, was kept)"),
        ("same-week", "2026-11-05", "duplicate request_id (the first copy, on 2026-11-03, was kept)"),
    ]
    assert _balanced(home)


def test_rerunning_changes_nothing_and_a_late_copy_loses_to_the_kept_one(home: Home, tmp_path: Path) -> None:
    land_file(home, _write_requests(tmp_path / "a.jsonl", WEEK_ROWS), "canonical", {})
    materialize_pending(home, progress=lambda _: None)
    lake, duplicates = _lake_days(home), _duplicates(home)
    assert pending_days(home) == []
    again = materialize_pending(home, progress=lambda _: None)
    assert "daily" not in again.runs and _lake_days(home) == lake and _duplicates(home) == duplicates
    kept_day = read_merged(home, "2026-11-03")
    # A late file for an *earlier* day (Monday) with the id kept on Tuesday: the kept copy stays, the late one is
    # quarantined naming Tuesday, and only the late file's own day is merged again.
    land_file(
        home,
        _write_requests(tmp_path / "late.jsonl", [_request("same-week", "2026-11-02T09:00:00Z")]),
        "canonical",
        {},
    )
    late = materialize_pending(home, progress=lambda _: None)
    assert late.runs["daily"] == 1
    assert read_merged(home, "2026-11-03") == kept_day
    assert _lake_days(home) == lake
    assert (
        "same-week",
        "2026-11-02",
        "duplicate request_id (the first copy, on 2026-11-03, was kept)",
    ) in _duplicates(home)
    assert len(_duplicates(home)) == len(duplicates) + 1 and _balanced(home)
    land_file(home, tmp_path / "late.jsonl", "canonical", {})  # the same late file again: a no-op
    assert pending_days(home) == []


def test_a_file_landed_earlier_but_staged_later_takes_the_id_and_reopens_the_later_day(
    home: Home, tmp_path: Path
) -> None:
    first, _ = land_file(
        home,
        _write_requests(tmp_path / "first.jsonl", [_request("x", "2026-11-04T10:00:00Z")]),
        "canonical",
        {},
    )
    second_rows = [_request("x", "2026-11-05T10:00:00Z"), _request("y", "2026-11-05T11:00:00Z")]
    land_file(home, _write_requests(tmp_path / "second.jsonl", second_rows), "canonical", {})
    aside = tmp_path / "aside"
    aside.mkdir()
    held = [first.path(home), home.landing / f"{first.file_id}.manifest.json"]
    for path in held:  # the first file is not staged yet (its staging failed, say)
        path.rename(aside / path.name)
    materialize_pending(home, progress=lambda _: None)
    assert _lake_days(home) == [("x", "2026-11-05"), ("y", "2026-11-05")]
    rollup_before = json.loads((home.rollup_day_dir("2026-11-05") / "_manifest.json").read_text())[
        "fingerprint"
    ]
    for path in held:
        (aside / path.name).rename(path)
    assert pending_days(home) == []  # nothing is pending until the earlier-landed file is staged
    summary = materialize_pending(home, progress=lambda _: None)
    assert summary.runs["daily"] == 2  # 11-04 (new) and 11-05 (its duplicate moved)
    assert _lake_days(home) == [("x", "2026-11-04"), ("y", "2026-11-05")]
    assert _duplicates(home) == [
        ("x", "2026-11-05", "duplicate request_id (the first copy, on 2026-11-04, was kept)")
    ]
    rollup_after = json.loads((home.rollup_day_dir("2026-11-05") / "_manifest.json").read_text())[
        "fingerprint"
    ]
    assert rollup_after != rollup_before  # the day's rollup was rebuilt without the moved copy
    assert _balanced(home)


def test_the_window_is_a_setting(home: Home, tmp_path: Path) -> None:
    home.config_file.write_text("ingest:\n  dedupe_same_iso_week: false\n  dedupe_adjacent_days: 0\n")
    land_file(home, _write_requests(tmp_path / "a.jsonl", WEEK_ROWS), "canonical", {})
    materialize_pending(home, progress=lambda _: None)
    assert [row[0] for row in _duplicates(home)] == ["same-day"]  # per day only
    home.config_file.write_text("ingest:\n  dedupe_adjacent_days: -1\n")
    with pytest.raises(ModeshiftError, match="ingest.dedupe_adjacent_days must be >= 0"):
        _ = Settings.load(home).dedupe_window


def test_the_dedupe_window_is_the_iso_week_and_the_neighbouring_days_and_is_symmetric() -> None:
    window = DedupeWindow()
    assert window.days_around("2026-11-09") == ["2026-11-08", *[f"2026-11-{d}" for d in range(10, 16)]]
    assert window.days_around("2026-11-11") == [f"2026-11-{d:02d}" for d in (9, 10, 12, 13, 14, 15)]
    assert DedupeWindow(False, 0).days_around("2026-11-11") == []
    assert DedupeWindow(False, 2).days_around("2026-11-11") == [
        "2026-11-09",
        "2026-11-10",
        "2026-11-12",
        "2026-11-13",
    ]
    days = [f"2026-{m:02d}-{d:02d}" for m in (11, 12) for d in range(1, 29)]
    for shape in (DedupeWindow(), DedupeWindow(False, 1), DedupeWindow(True, 3)):
        for a in days:
            for b in shape.days_around(a):
                assert a in shape.days_around(b)
