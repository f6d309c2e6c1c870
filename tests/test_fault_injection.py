"""Fault injection: ``modeshift materialize`` (``materialize_pending``) SIGKILLed at random points of ingest, day
merge, rollup, weekly outputs, warehouse refresh and publish, then run again to completion, gives exactly the outputs
of an uninterrupted run on a copy of the same home: the same request lake and quarantine rows (no duplicates, none
lost), the same ingest_log counts, endpoint_profiles and recommendations, and a complete analytics.duckdb.

Two kinds of kill, both seeded so a failure reproduces:

* timed: the child is killed after its k-th progress line plus a random delay (k and the delay drawn from a seeded
  generator), so the kill lands anywhere inside a stage, whatever the speed of the machine;
* at a commit point: the child SIGKILLs itself just before or just after its n-th atomic replacement
  (``replace_file`` / ``replace_dir``), the moments where a half-done write would show if one could.

The landed home is built once and copied, so every copy holds byte-identical landed files (same ids and landing
times); the expected answers are the uninterrupted run's, checked against hand-counted totals first.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from pipelines.app.runner import materialize_pending
from pipelines.core.home import Home
from pipelines.delivery.publish import analytics_path
from pipelines.ingest.landing import land_file

REPO = Path(__file__).resolve().parents[1]
MODEL = "meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo"
SALT = "fault-salt"
START = datetime(2026, 11, 2, tzinfo=UTC)  # a Monday: the eight days 11-02 .. 11-09 span two ISO weeks
DAYS = 8
FILES = 3
ROWS_PER_FILE = 300  # well-formed records per file
ID_OVERLAP = 60  # the first 60 ids of each file repeat the last 60 of the previous one (same row, same day)
# Hand-counted: 3 × 300 good records + 1 garbage line per file; 2 × 60 exact duplicates refused at the day merge.
GOOD_ROWS = FILES * ROWS_PER_FILE
PARSE_QUARANTINED = FILES
DUPLICATES = (FILES - 1) * ID_OVERLAP
ACCEPTED = GOOD_ROWS - DUPLICATES
RUN_TIMEOUT_S = 120.0

# Two *uninterrupted* runs on identical inputs already differ in the last bit of some weekly floats (list_cost_usd,
# hourly_cv, daily_cv, spend shares: the weekly aggregation sums in no fixed order), so floats are compared at 12
# significant digits; every other value (ids, counts, tokens, timestamps, modes, actions) is compared exactly.
FLOAT_DIGITS = 12
# Columns that record *when* something ran, not what it computed.
RUN_TIME_COLUMNS = frozenset({"ingested_at", "published_at", "landed_at", "landed_at_ns", "computed_at"})

# The child: runs materialize_pending on argv[1]; in "commit" mode it SIGKILLs itself just before ("before") or
# just after ("after") its n-th atomic replacement. Progress lines go to stdout so the parent can time its kill.
CHILD = """
import os, signal, sys
from pathlib import Path
mode = sys.argv[2]
import pipelines.definitions  # every module that writes, imported before patching
from pipelines.core import atomic
from pipelines.core.home import Home
from pipelines.app.runner import materialize_pending

if mode == "commit":
    nth, when = int(sys.argv[3]), sys.argv[4]
    calls = [0]
    def killing(real):
        def wrapper(*args, **kwargs):
            calls[0] += 1
            if calls[0] == nth and when == "before":
                os.kill(os.getpid(), signal.SIGKILL)
            result = real(*args, **kwargs)
            if calls[0] == nth and when == "after":
                os.kill(os.getpid(), signal.SIGKILL)
            return result
        return wrapper
    originals = {atomic.replace_file: killing(atomic.replace_file), atomic.replace_dir: killing(atomic.replace_dir)}
    for name, module in list(sys.modules.items()):
        if module is None or not name.startswith(("pipelines", "assets")):
            continue
        for attribute in ("replace_file", "replace_dir"):
            if originals.get(getattr(module, attribute, None)) is not None:
                setattr(module, attribute, originals[getattr(module, attribute)])
print("ready", flush=True)
materialize_pending(Home(Path(sys.argv[1])), progress=lambda line: print(line, flush=True))
print("finished", flush=True)
"""


def _write_file(path: Path, index: int) -> None:
    """One canonical JSONL file: ROWS_PER_FILE requests spread over the eight days, two endpoints, and one garbage
    line. Its first ID_OVERLAP records repeat (id, time, values) the previous file's last ID_OVERLAP."""
    with open(path, "w") as handle:
        first_id = index * (ROWS_PER_FILE - ID_OVERLAP)
        for request in range(first_id, first_id + ROWS_PER_FILE):
            at = START + timedelta(minutes=(request * 37) % (DAYS * 1440))
            row = {
                "request_id": f"r{request}",
                "ts": at.isoformat(),
                "endpoint": ("chat", "batch-job")[request % 2],
                "model": MODEL,
                "input_tokens": 1_000 + request,
                "output_tokens": 50 + request % 7,
                "interactive": request % 2 == 0,
                "prompt": "never kept",
            }
            handle.write(json.dumps(row) + "\n")
        handle.write('{"ts": "garbage", "endpoint": "chat"}\n')


@pytest.fixture(scope="module")
def landed_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home with the three files landed and nothing else done (copied for every run)."""
    root = tmp_path_factory.mktemp("fault-template") / "home"
    home = Home(root).ensure()
    for index in range(FILES):
        source = root.parent / f"part-{index}.jsonl"
        _write_file(source, index)
        land_file(home, source, "canonical", {})
    return root


def _copy_home(template: Path, target: Path) -> Home:
    shutil.copytree(template, target / "home", symlinks=True)
    return Home(target / "home")


# ------------------------------------------------------------------------------------------ reading outputs


def _canonical(value: Any) -> Any:
    """``value`` with every float cut to 12 significant digits (see FLOAT_DIGITS); everything else unchanged."""
    if isinstance(value, float):
        return float(f"{value:.{FLOAT_DIGITS}g}")
    if isinstance(value, list | tuple):
        return type(value)(_canonical(item) for item in value)
    return value


def _rows(con: duckdb.DuckDBPyConnection, query: str, params: dict[str, Any] | None = None) -> list[tuple]:
    """The rows of ``query``, run-time columns left out, floats canonical, sorted."""
    relation = con.sql(query, params=params)
    keep = [i for i, name in enumerate(relation.columns) if name not in RUN_TIME_COLUMNS]
    return sorted((tuple(_canonical(row[i]) for i in keep) for row in relation.fetchall()), key=repr)


def _lake_rows(con: duckdb.DuckDBPyConnection, home: Home, pattern: str) -> list[tuple]:
    files = sorted(str(p) for p in home.lake.glob(pattern))
    return (
        _rows(con, "SELECT * FROM read_parquet($files, union_by_name = true)", {"files": files})
        if files
        else []
    )


def _outputs(home: Home) -> dict[str, Any]:
    """Everything a run produced that must not depend on whether it was interrupted (run times left out)."""
    with duckdb.connect() as con:
        con.sql("SET TimeZone = 'UTC'")
        outputs: dict[str, Any] = {
            "requests": _lake_rows(con, home, "requests/day=*/part*.parquet"),
            "quarantine": _lake_rows(con, home, "quarantine/day=*/part.parquet"),
            "staged_quarantine": _lake_rows(con, home, "staged/[!.]*/day=quarantine/*.parquet"),
            "raw_landed_bytes": _raw_landed_bytes(home),
            "stray_lake_files": sorted(
                str(p.relative_to(home.lake))
                for p in home.lake.rglob("*")
                if p.is_file() and p.name.startswith((".tmp-", ".trash-"))
            ),
        }
        for table in (
            "endpoint_profiles",
            "recommendations",
            "plan_curve",
            "backtest",
            "spend_concentration",
        ):
            outputs[table] = _lake_rows(con, home, f"weekly/{table}/week=*/part.parquet")
    analytics = analytics_path(home)
    with duckdb.connect(str(analytics), read_only=True) as con:
        con.sql("SET TimeZone = 'UTC'")
        outputs["analytics"] = {
            "requests": _rows(con, "SELECT * EXCLUDE (source) FROM requests"),
            "request_ids": sorted(row[0] for row in con.sql("SELECT request_id FROM requests").fetchall()),
            "quarantine": _rows(con, "SELECT * FROM quarantine"),
            "ingest_log": _rows(con, "SELECT * FROM ingest_log"),
            "endpoint_profiles": _rows(con, "SELECT * FROM endpoint_profiles"),
            "recommendations": _rows(con, "SELECT * FROM recommendations"),
            "published_counts": _rows(con, "SELECT * EXCLUDE (snapshot, snapshot_dir) FROM published"),
        }
    return outputs


# --------------------------------------------------------------------------------------------- the kills


@dataclass
class Outcome:
    """How one interrupted run ended: killed (after which progress line), or it finished first."""

    killed: bool
    lines: list[str]
    returncode: int | None


def _run_child(home: Home, args: list[str], kill_after_line: int | None, delay_s: float) -> Outcome:
    """Run the child on ``home``; with ``kill_after_line``, SIGKILL it ``delay_s`` after its k-th progress line."""
    env = os.environ | {"MODESHIFT_HOME": str(home.root), "MODESHIFT_SALT": SALT, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", CHILD, str(home.root), *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    lines: list[str] = []
    killed = False
    timer = threading.Timer(RUN_TIMEOUT_S, process.kill)  # never hang the suite
    timer.start()
    try:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line.strip())
            if kill_after_line is not None and len(lines) == kill_after_line + 1:  # line 0 is "ready"
                time.sleep(delay_s)
                os.kill(process.pid, signal.SIGKILL)
                killed = True
                break
        process.wait(timeout=RUN_TIMEOUT_S)
    finally:
        timer.cancel()
    killed = killed or process.returncode == -signal.SIGKILL
    return Outcome(killed=killed and "finished" not in lines, lines=lines, returncode=process.returncode)


def _recover_and_compare(home: Home, reference: dict[str, Any], what: str) -> None:
    """Run materialize_pending to completion in this process, then compare every output with the reference."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MODESHIFT_SALT", SALT)
        patch.setenv("MODESHIFT_HOME", str(home.root))
        patch.setenv("DAGSTER_HOME", str(home.root / "dagster"))
        materialize_pending(home, progress=lambda _: None)
    recovered = _outputs(home)
    for key, expected in reference.items():
        if key in ("stray_lake_files", "raw_landed_bytes"):
            continue  # litter, not output: see test_crash_leftovers_are_removed_by_the_next_run
        assert recovered[key] == expected, f"{what}: {key} differs from the uninterrupted run"
    ids = recovered["analytics"]["request_ids"]
    assert len(ids) == len(set(ids)) == ACCEPTED, f"{what}: duplicated or lost requests"
    assert _raw_landed_bytes(home) == [], (
        f"{what}: raw landed bytes (prompts, API keys) survived the recovery"
    )


def _raw_landed_bytes(home: Home) -> list[str]:
    """Files in landing/ that may hold raw log bytes (landed copies, partial copies): all but the manifests and
    the landing lock."""
    return sorted(
        p.name
        for p in home.landing.iterdir()
        if not p.name.endswith(".manifest.json") and p.name != ".landing.lock"
    )


def _timed_plan(seed: int, tries: int, progress_lines: int) -> list[tuple[int, float]]:
    """``tries`` kill points (k-th progress line, delay in s), one per equal slice of the run, seeded."""
    rng = random.Random(seed)
    plan = []
    for slice_index in range(tries):
        low = slice_index * progress_lines // tries
        high = max(low, (slice_index + 1) * progress_lines // tries - 1)
        plan.append((rng.randint(low, high), round(rng.uniform(0.0, 0.6), 3)))
    return plan


# "ready", 3 stage, 8 day and 2 week lines, then warehouse and analytics: 16 lines, numbered 0..15.
PROGRESS_LINES = 1 + FILES + DAYS + 2 + 2
# Atomic replacements in one uninterrupted run (counted once): 1-46 staging, merges and rollups, 47-89 weekly
# tables, warehouse and publish.
COMMITS = 89


# CI runs three kills (one timed, two at commit points); MODESHIFT_FAULT_KILLS=30 runs a wider sweep.
KILLS = max(3, int(os.environ.get("MODESHIFT_FAULT_KILLS", "3")))
CONCURRENT_CHILDREN = 3


def _kill_plans(kills: int) -> list[tuple[str, list[str], int | None, float]]:
    """``kills`` seeded kills: a third timed (spread over the whole run), the rest at commit points spread evenly
    over the run's atomic replacements, alternately just after and just before one."""
    timed_count = max(1, kills // 3)
    commit_count = kills - timed_count
    timed = _timed_plan(seed=20261102, tries=timed_count, progress_lines=PROGRESS_LINES - 1)
    rng = random.Random(7)
    commits = []
    for index in range(commit_count):
        low = 1 + index * COMMITS // commit_count
        high = max(low, (index + 1) * COMMITS // commit_count)
        commits.append((rng.randint(low, high), "after" if index % 2 == 0 else "before"))
    return [
        (f"timed kill after progress line {line} + {delay} s", ["timed"], line, delay)
        for line, delay in timed
    ] + [
        (f"kill {when} atomic replacement {nth}", ["commit", str(nth), when], None, 0.0)
        for nth, when in commits
    ]


KILL_PLANS = _kill_plans(KILLS)


@dataclass
class Interrupted:
    """The outputs of the uninterrupted run, and each interrupted home with how its child ended."""

    reference: dict[str, Any]
    tries: list[tuple[Home, Outcome]]


@pytest.fixture(scope="module")
def interrupted(landed_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Interrupted:
    """Start every interrupted child (each on its own copy of the landed home) and, meanwhile, the uninterrupted
    reference run in this process; return both once every child has ended."""
    homes = [
        _copy_home(landed_template, tmp_path_factory.mktemp(f"fault-try-{i}")) for i in range(len(KILL_PLANS))
    ]
    outcomes: list[Outcome | None] = [None] * len(KILL_PLANS)

    slots = threading.Semaphore(CONCURRENT_CHILDREN)

    def run(index: int) -> None:
        _, args, kill_after, delay = KILL_PLANS[index]
        with slots:
            outcomes[index] = _run_child(homes[index], args, kill_after, delay)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(KILL_PLANS))]
    for thread in threads:
        thread.start()
    home = _copy_home(landed_template, tmp_path_factory.mktemp("fault-reference"))
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("MODESHIFT_SALT", SALT)
            patch.setenv("MODESHIFT_HOME", str(home.root))
            patch.setenv("DAGSTER_HOME", str(home.root / "dagster"))
            materialize_pending(home, progress=lambda _: None)
    finally:
        for thread in threads:
            thread.join()
    return Interrupted(_outputs(home), [(homes[i], outcomes[i]) for i in range(len(KILL_PLANS))])  # type: ignore[misc]


def test_the_uninterrupted_run_has_the_hand_counted_rows(interrupted: Interrupted) -> None:
    """The reference itself: 900 good records, 120 exact duplicates refused at the merge, 3 garbage lines."""
    reference = interrupted.reference
    assert len(reference["requests"]) == ACCEPTED == 780
    assert len(reference["quarantine"]) == DUPLICATES == 120
    assert len(reference["staged_quarantine"]) == PARSE_QUARANTINED == 3
    assert len(reference["analytics"]["requests"]) == ACCEPTED
    assert len(reference["analytics"]["quarantine"]) == DUPLICATES + PARSE_QUARANTINED
    assert len(reference["analytics"]["ingest_log"]) == FILES
    assert len(reference["endpoint_profiles"]) == 2 * 2  # two endpoints, two weeks
    assert len(reference["recommendations"]) == 2 * 2
    assert reference["stray_lake_files"] == []
    assert reference["raw_landed_bytes"] == []


@pytest.mark.slow
@pytest.mark.parametrize("index", range(len(KILL_PLANS)), ids=[plan[0] for plan in KILL_PLANS])
def test_a_killed_run_recovers_to_the_uninterrupted_outputs(interrupted: Interrupted, index: int) -> None:
    what = KILL_PLANS[index][0]
    home, outcome = interrupted.tries[index]
    assert outcome.returncode is not None, f"{what}: the child hung"
    assert outcome.killed, f"{what}: the run finished before the kill ({outcome.lines[-1:]})"
    _recover_and_compare(home, interrupted.reference, f"{what} (last line {outcome.lines[-1:]})")


@pytest.mark.slow
def test_crash_leftovers_are_removed_by_the_next_run(interrupted: Interrupted) -> None:
    # The weekly commit-point kill dies before renaming a finished temporary file into lake/weekly/.
    index = next(
        i for i, plan in enumerate(KILL_PLANS) if plan[1][:1] == ["commit"] and plan[1][2] == "before"
    )
    home, _ = interrupted.tries[index]
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MODESHIFT_SALT", SALT)
        patch.setenv("MODESHIFT_HOME", str(home.root))
        patch.setenv("DAGSTER_HOME", str(home.root / "dagster"))
        materialize_pending(home, progress=lambda _: None)  # a no-op when the recovery test ran already
    assert _outputs(home)["stray_lake_files"] == []
