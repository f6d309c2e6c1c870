"""Benchmark of object mode (``MODESHIFT_LAKE=s3://...``) against local mode on one generated week of
canonical JSONL requests (``benchmarks.generate.synthetic_requests``, the generator of ``bench_week``):
``--rows`` requests in ``--files`` time-ordered files over 7 days, 1000 endpoints.

    PYTHONPATH=. .venv/bin/python -m benchmarks.bench_object_lake --rows 2000000 --files 8

Scenarios (each on a fresh home or a fresh bucket; every modeshift command is its own subprocess):

- ``local``: ``modeshift ingest --format canonical FILE...`` then ``modeshift materialize`` in a temporary
  MODESHIFT_HOME.
- ``object/1``: the same two commands against a bucket of moto's S3 server (started by this script, in a
  thread of this process, on 127.0.0.1), each command in its own scratch working copy under MODESHIFT_SCRATCH.
- ``object/2 race``: one ingest, then two ``modeshift materialize`` started at the same time on the same
  bucket, each in its own scratch. Nothing divides the work between them: both see every file and day as
  pending, so this is the contention case (duplicate work, last commit record wins), not a speed-up.
- ``object/2 split``: one ingest, then the work divided between two concurrent worker processes: worker A
  stages the first half of the landed files and worker B the rest (one Dagster ``stage_files`` run per file);
  then worker A runs the ``daily`` job for days 1-4 and worker B for days 5-7; then one ``modeshift
  materialize`` does what is left (the weekly partition, the warehouse refresh, the analytics publish). A
  small planning process lists the files and days to divide before each half (its traffic is counted). Each
  worker runs the same in-process Dagster runs as ``materialize`` (``pipelines.app.runner._run``) in its own
  working copy.

Measured per phase: wall time; peak RSS, both as the sum over every running process of the phase (psutil,
sampled every 20 ms, like ``benchmarks.harness``) and as the largest single process's own high-water mark
(``VmHWM`` of /proc/PID/status, read every 20 ms, so it catches peaks between samples; ``ru_maxrss`` is not
used: on Linux a child's includes this process's RSS at the fork, and this process holds moto's objects); S3
bytes written / read and store requests as counted by ``S3Store.counts`` in each child: a ``python -c``
wrapper patches ``S3Store.__init__`` to register every instance the process makes and prints their summed
counts as one JSON line when the command returns (a multipart upload or download counts as one request, each
listed page as one). After each object scenario the bucket's objects are listed (``list_objects_v2``) and
their sizes summed: the bytes the lake stores. The moto server runs in this process, so its memory is not in
the figures, but it shares the machine's cores with the workers. ``materialize`` runs without ``--quiet``: its
progress lines are parsed.

Per partition (from the progress lines ``[stage i/n] NAME staged (S s)``, ``[day i/n] DAY (S s)`` and
``[week i/n] WEEK (S s)``): count, rows per partition, mean / max / sum of wall seconds and microseconds per
row, the figures used to project to a larger week. The input is kept under benchmarks/out/ between runs; the
homes, scratch directories and buckets are removed after each scenario.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import psutil

if TYPE_CHECKING:
    from tests.servers import S3Server

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "benchmarks" / "out"
SALT = "bench-object-lake-salt-0123456789abcdef"
DAYS = 7
S3_MARK = "BENCH_S3 "
PLAN_MARK = "BENCH_PLAN "
CHILD = "import sys; from benchmarks.bench_object_lake import child_main; sys.exit(child_main(sys.argv[1:]))"
PROGRESS = re.compile(r"^\[(stage|day|week) (\d+)/(\d+)\] (\S+).*\((\d+(?:\.\d+)?) s\)$")
SCENARIOS = ("local", "object1", "race", "split")
COUNTERS = ("bytes_written", "bytes_read", "requests")


# -- the child side: one modeshift command (or worker) per process, its S3 traffic printed at the end --------


def child_main(argv: list[str]) -> int:
    """Run ``cli ARGS...`` (the modeshift command), ``plan files|days`` or ``stage|day KEY...`` (a worker),
    then print the summed ``S3Store.counts`` of every store the process made as one JSON line."""
    from pipelines.core import object_store

    stores: list[object_store.S3Store] = []
    original = object_store.S3Store.__init__

    def register(self: object_store.S3Store, bucket: str, prefix: str) -> None:
        original(self, bucket, prefix)
        stores.append(self)

    object_store.S3Store.__init__ = register  # type: ignore[method-assign]
    try:
        if argv[0] == "cli":
            from pipelines.app.cli import main

            return main(argv[1:])
        if argv[0] == "plan":
            return _plan(argv[1])
        return _work(argv[0], argv[1:])
    finally:
        totals = {name: sum(getattr(store.counts, name) for store in stores) for name in COUNTERS}
        print(S3_MARK + json.dumps(totals), flush=True)


def _plan(what: str) -> int:
    """Print the landed files still to stage (``files``) or the days to build (``days``) as one JSON line."""
    from pipelines.app.working_copy import working_copy
    from pipelines.core.settings import Settings
    from pipelines.lake.pending import days_to_build, files_to_stage

    with working_copy() as copy:
        settings = Settings.load(copy.home)
        if what == "files":
            keys = [landed.file_id for landed in files_to_stage(copy.home)]
        else:
            keys = days_to_build(copy.home, settings)
    print(PLAN_MARK + json.dumps(keys), flush=True)
    return 0


def _work(kind: str, keys: list[str]) -> int:
    """One worker: the Dagster ``stage_files`` (``stage``) or ``daily`` (``day``) run of each key, in order,
    in its own working copy, as ``materialize`` runs them; progress lines in ``materialize``'s format."""
    from pipelines.app.runner import RunSummary, _run, dagster_instance
    from pipelines.app.working_copy import working_copy
    from pipelines.core.settings import Settings
    from pipelines.ops.jobs import DAILY, STAGE_FILES
    from pipelines.ops.partitions import LANDED_FILES

    with working_copy() as copy:
        home = copy.home
        Settings.load(home)
        instance = dagster_instance(home)
        if kind == "stage":
            instance.add_dynamic_partitions(LANDED_FILES, keys)
        summary = RunSummary()
        for index, key in enumerate(keys, start=1):
            started = time.monotonic()
            ok = _run(instance, home, STAGE_FILES if kind == "stage" else DAILY, key, summary)
            state = "ok" if ok else "FAILED"
            print(
                f"[{kind} {index}/{len(keys)}] {key} {state} ({time.monotonic() - started:.1f} s)", flush=True
            )
    for failure in summary.failures:
        print(f"worker: {failure}", file=sys.stderr)
    return 1 if summary.failures else 0


# -- the parent side -----------------------------------------------------------------------------------------


@dataclass
class Process:
    """One finished child: label, wall seconds, peak RSS (VmHWM, bytes), exit status, output, S3 counts."""

    label: str
    seconds: float
    max_rss_bytes: int
    returncode: int
    stdout: str
    stderr: str
    counts: dict[str, int]

    def partitions(self) -> list[tuple[str, str, float]]:
        """(kind, key, seconds) of each progress line; a worker's ``stage`` lines count as ``stage``."""
        found = []
        for line in self.stdout.splitlines():
            match = PROGRESS.match(line.strip())
            if match:
                found.append((match[1], match[4], float(match[5])))
        return found

    def plan(self) -> list[str]:
        """The keys a ``plan`` child printed."""
        line = next(line for line in self.stdout.splitlines() if line.startswith(PLAN_MARK))
        return json.loads(line.removeprefix(PLAN_MARK))


@dataclass
class Phase:
    """Processes started together: wall seconds until the last ended, peak summed RSS (sampled), each."""

    name: str
    seconds: float
    peak_rss_bytes: int
    processes: list[Process]

    @property
    def failed(self) -> list[Process]:
        return [p for p in self.processes if p.returncode != 0]

    def total(self, counter: str) -> int:
        return sum(p.counts.get(counter, 0) for p in self.processes)


@dataclass
class Scenario:
    """One mode and worker count: its phases, the bucket's stored bytes at the end, and notes."""

    mode: str
    workers: int
    phases: list[Phase] = field(default_factory=list)
    stored: tuple[int, int] | None = None  # (objects, bytes) in the bucket at the end
    error: str = ""


def _high_water(pid: int) -> int:
    """The process's peak resident set (VmHWM) in bytes, 0 once it is gone."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def run_phase(name: str, commands: list[tuple[str, list[str]]], env: dict[str, str], log: Path) -> Phase:
    """Start every command at once; every 20 ms sample the summed RSS of their process trees and each one's
    VmHWM. Output goes to files under ``log`` (a pipe could fill and block)."""
    log.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    running = []
    for label, args in commands:
        out = open(log / f"{name}-{label}.out", "w+", encoding="utf-8")
        err = open(log / f"{name}-{label}.err", "w+", encoding="utf-8")
        child = subprocess.Popen(  # noqa: S603 - our own commands
            [sys.executable, "-c", CHILD, *args], env=env, stdout=out, stderr=err, cwd=REPO
        )
        running.append((label, child, psutil.Process(child.pid), out, err, time.perf_counter()))
    finished: dict[str, Process] = {}
    high = {label: 0 for label, *_ in commands}
    peak = 0
    while len(finished) < len(running):
        total = 0
        for label, child, root, out, err, began in running:
            if label in finished:
                continue
            if child.poll() is None:
                try:
                    tree = [root, *root.children(recursive=True)]
                    total += sum(p.memory_info().rss for p in tree)
                    high[label] = max(high[label], *(_high_water(p.pid) for p in tree))
                except psutil.Error:
                    pass
                continue
            out.seek(0)
            err.seek(0)
            stdout, stderr = out.read(), err.read()
            out.close()
            err.close()
            counts = next(
                (
                    json.loads(line.removeprefix(S3_MARK))
                    for line in stdout.splitlines()
                    if line.startswith(S3_MARK)
                ),
                {},
            )
            finished[label] = Process(
                label,
                time.perf_counter() - began,
                high[label],
                child.returncode,
                stdout,
                stderr,
                counts,
            )
        peak = max(peak, total)
        time.sleep(0.02)
    phase = Phase(name, time.perf_counter() - started, peak, [finished[label] for label, *_ in running])
    for process in phase.failed:
        tail = "\n".join(process.stderr.strip().splitlines()[-25:])
        print(f"  ! {name}/{process.label} exited {process.returncode}:\n{tail}", flush=True)
    return phase


def generate(rows: int, files: int, endpoints: int) -> tuple[list[Path], int]:
    """The week as canonical JSONL (kept between runs), as ``benchmarks.generate --formats jsonl`` does."""
    data = OUT / f"objlake-week-{rows}-{files}files-{endpoints}"
    paths = [data / f"requests-{part:03d}.jsonl" for part in range(files)]
    if not all(path.exists() for path in paths):
        import polars as pl

        from benchmarks.generate import synthetic_requests

        print(f"generating {rows:,} requests in {files} JSONL files ...", flush=True)
        started = time.perf_counter()
        data.mkdir(parents=True, exist_ok=True)
        for part, path in enumerate(paths):
            frame = synthetic_requests(rows // files, endpoints, DAYS, part=part, parts=files)
            tmp = path.with_suffix(".tmp")
            frame.with_columns(pl.col("ts").dt.strftime("%Y-%m-%dT%H:%M:%S%.6fZ")).write_ndjson(tmp)
            tmp.rename(path)
        print(f"  generated in {time.perf_counter() - started:.1f} s", flush=True)
    size = sum(path.stat().st_size for path in paths)
    print(f"input: {len(paths)} file(s), {size / 1e6:,.1f} MB in {data}", flush=True)
    return paths, (rows // files) * files


def _base_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MODESHIFT_", "DAGSTER_", "AWS_"))}
    return env | {"PYTHONPATH": str(REPO), "MODESHIFT_SALT": SALT}


def _local(files: list[Path], work: Path) -> Scenario:
    home = work / "home-local"
    env = _base_env() | {"MODESHIFT_HOME": str(home)}
    scenario = Scenario("local", 1)
    for name, args in _ingest_then_materialize(files):
        scenario.phases.append(phase := run_phase(name, [("w1", args)], env, work / "logs-local"))
        if phase.failed:
            scenario.error = f"{name} failed"
            break
    shutil.rmtree(home, ignore_errors=True)
    return scenario


def _ingest_then_materialize(files: list[Path]) -> list[tuple[str, list[str]]]:
    return [
        ("ingest", ["cli", "ingest", "--format", "canonical", *(str(f) for f in files)]),
        ("materialize", ["cli", "materialize"]),
    ]


def _object(
    mode: str,
    workers: int,
    files: list[Path],
    work: Path,
    server: S3Server,
    body: Callable[[Scenario, dict[str, str], Path], None],
) -> Scenario:
    """An object-mode scenario on a new bucket: ``body`` runs its phases; the bucket is measured, emptied."""
    import boto3

    bucket = server.new_bucket()
    scratch = work / f"scratch-{mode.replace('/', '-').replace(' ', '-')}"
    env = (
        _base_env()
        | server.env()
        | {"MODESHIFT_LAKE": f"s3://{bucket}/lake", "MODESHIFT_SCRATCH": str(scratch)}
    )
    scenario = Scenario(mode, workers)
    log = work / f"logs-{mode.replace('/', '-').replace(' ', '-')}"
    try:
        scenario.phases.append(
            phase := run_phase("ingest", [("w1", _ingest_then_materialize(files)[0][1])], env, log)
        )
        if phase.failed:
            scenario.error = "ingest failed"
        else:
            body(scenario, env, log)
    finally:
        client = boto3.client("s3", endpoint_url=server.endpoint, **_aws(server))
        keys, size = [], 0
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for item in page.get("Contents", []):
                keys.append(item["Key"])
                size += int(item["Size"])
        scenario.stored = (len(keys), size)
        for start in range(0, len(keys), 1000):
            chunk = [{"Key": key} for key in keys[start : start + 1000]]
            client.delete_objects(Bucket=bucket, Delete={"Objects": chunk, "Quiet": True})
        client.delete_bucket(Bucket=bucket)
        shutil.rmtree(scratch, ignore_errors=True)
    return scenario


def _aws(server: S3Server) -> dict[str, str]:
    env = server.env()
    return {
        "aws_access_key_id": env["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": env["AWS_SECRET_ACCESS_KEY"],
        "region_name": env["AWS_DEFAULT_REGION"],
    }


def _one_worker(scenario: Scenario, env: dict[str, str], log: Path) -> None:
    scenario.phases.append(phase := run_phase("materialize", [("w1", ["cli", "materialize"])], env, log))
    if phase.failed:
        scenario.error = "materialize failed"


def _race(scenario: Scenario, env: dict[str, str], log: Path) -> None:
    commands = [("w1", ["cli", "materialize"]), ("w2", ["cli", "materialize"])]
    scenario.phases.append(phase := run_phase("2x materialize", commands, env, log))
    if phase.failed:
        scenario.error = f"{', '.join(p.label for p in phase.failed)} failed"


def _halves(keys: list[str]) -> list[list[str]]:
    cut = (len(keys) + 1) // 2  # 7 days: 1-4 and 5-7
    return [part for part in (keys[:cut], keys[cut:]) if part]


def _split(scenario: Scenario, env: dict[str, str], log: Path) -> None:
    for kind, what in (("stage", "files"), ("day", "days")):
        scenario.phases.append(plan := run_phase(f"plan {what}", [("w1", ["plan", what])], env, log))
        if plan.failed:
            scenario.error = f"plan {what} failed"
            return
        parts = _halves(plan.processes[0].plan())
        commands = [(f"w{i}", [kind, *keys]) for i, keys in enumerate(parts, start=1)]
        scenario.phases.append(phase := run_phase(f"2x {kind}", commands, env, log))
        if phase.failed:
            scenario.error = f"2x {kind} failed"
            return
    scenario.phases.append(phase := run_phase("materialize", [("w1", ["cli", "materialize"])], env, log))
    if phase.failed:
        scenario.error = "final materialize failed"


# -- printing ------------------------------------------------------------------------------------------------


def print_table(scenarios: list[Scenario], rows: int) -> None:
    """One line per phase and a total per scenario (S3 bytes: counted by the clients; stored: the bucket)."""
    header = (
        f"{'mode':<15} {'workers':>7} {'phase':<15} {'wall s':>8} {'peak RSS MB':>11} {'max proc MB':>11} "
        f"{'S3 bytes written':>16} {'S3 bytes read':>16} {'requests':>9} {'rows/s':>11}"
    )
    print(header)
    print("-" * len(header))
    for s in scenarios:
        for p in [*s.phases, None]:
            if p is None:
                seconds = sum(q.seconds for q in s.phases)
                peak = max((q.peak_rss_bytes for q in s.phases), default=0)
                proc = max((x.max_rss_bytes for q in s.phases for x in q.processes), default=0)
                counts = [sum(q.total(c) for q in s.phases) for c in COUNTERS]
                name = "TOTAL" + (" (FAILED)" if s.error else "")
            else:
                seconds, peak = p.seconds, p.peak_rss_bytes
                proc = max(x.max_rss_bytes for x in p.processes)
                counts = [p.total(c) for c in COUNTERS]
                name = p.name + (" !" if p.failed else "")
            s3 = [f"{c:,}" if s.mode != "local" else "-" for c in counts]
            print(
                f"{s.mode:<15} {s.workers:>7} {name:<15} {seconds:>8.1f} {peak / 1e6:>11,.0f} "
                f"{proc / 1e6:>11,.0f} "
                f"{s3[0]:>16} {s3[1]:>16} {s3[2]:>9} {rows / seconds:>11,.0f}"
            )
        if s.stored is not None:
            print(f"{'':<15} {'':>7} bucket at end: {s.stored[0]:,} objects, {s.stored[1]:,} bytes stored")
        if s.error:
            print(f"{'':<15} {'':>7} error: {s.error}")


def print_processes(scenarios: list[Scenario]) -> None:
    """One line per child process: its own wall time, exact peak RSS and S3 counts."""
    header = (
        f"{'mode':<15} {'phase/worker':<22} {'wall s':>8} {'max RSS MB':>10} {'S3 bytes written':>16} "
        f"{'S3 bytes read':>16} {'requests':>9} {'exit':>4}"
    )
    print(header)
    print("-" * len(header))
    for s in scenarios:
        for p in s.phases:
            for x in p.processes:
                counts = [f"{x.counts.get(c, 0):,}" if s.mode != "local" else "-" for c in COUNTERS]
                print(
                    f"{s.mode:<15} {p.name + '/' + x.label:<22} {x.seconds:>8.1f} "
                    f"{x.max_rss_bytes / 1e6:>10,.0f} "
                    f"{counts[0]:>16} {counts[1]:>16} {counts[2]:>9} {x.returncode:>4}"
                )


def print_partitions(scenarios: list[Scenario], rows: int, files: int) -> None:
    """Per scenario and partition kind: wall seconds per partition (each worker's own lines)."""
    per = {"stage": rows / files, "day": rows / DAYS, "week": rows}
    header = (
        f"{'mode':<15} {'phase/worker':<22} {'kind':<6} {'n':>3} {'rows/part':>11} {'mean s':>8} "
        f"{'max s':>8} "
        f"{'sum s':>8} {'us/row':>7}"
    )
    print(header)
    print("-" * len(header))
    for s in scenarios:
        for p in s.phases:
            for x in p.processes:
                found = x.partitions()
                for kind in ("stage", "day", "week"):
                    times = [sec for k, _, sec in found if k == kind]
                    if not times:
                        continue
                    mean = sum(times) / len(times)
                    print(
                        f"{s.mode:<15} {p.name + '/' + x.label:<22} {kind:<6} {len(times):>3} "
                        f"{per[kind]:>11,.0f} "
                        f"{mean:>8.2f} {max(times):>8.2f} {sum(times):>8.1f} {mean / per[kind] * 1e6:>7.2f}"
                    )
    print()
    print("every partition line (mode, phase/worker, kind, key, s):")
    for s in scenarios:
        for p in s.phases:
            for x in p.processes:
                for kind, key, sec in x.partitions():
                    print(f"  {s.mode:<15} {p.name + '/' + x.label:<22} {kind:<6} {key:<24} {sec:>7.1f}")


def main() -> None:
    """Generate the week once, run every selected scenario, print the tables."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--files", type=int, default=8)
    parser.add_argument("--endpoints", type=int, default=1000)
    parser.add_argument("--scenarios", default=",".join(SCENARIOS), help=f"comma-separated of {SCENARIOS}")
    parser.add_argument(
        "--keep-logs", action="store_true", help="keep the children's output under benchmarks/out"
    )
    args = parser.parse_args()
    chosen = args.scenarios.split(",")
    unknown = set(chosen) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenario(s): {', '.join(sorted(unknown))}")
    files, rows = generate(args.rows, args.files, args.endpoints)
    work = OUT / f"objlake-run-{os.getpid()}"
    work.mkdir(parents=True, exist_ok=True)
    scenarios: list[Scenario] = []
    started = time.perf_counter()
    try:
        if "local" in chosen:
            print("scenario local ...", flush=True)
            scenarios.append(_local(files, work))
        objects = [
            ("object1", "object/1", 1, _one_worker),
            ("race", "object/2 race", 2, _race),
            ("split", "object/2 split", 2, _split),
        ]
        if any(key in chosen for key, *_ in objects):
            sys.path.insert(0, str(REPO))
            from tests.servers import s3_server

            logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's server: no line per request
            with s3_server() as server:
                for key, mode, workers, body in objects:
                    if key in chosen:
                        print(f"scenario {mode} ...", flush=True)
                        scenarios.append(_object(mode, workers, files, work, server, body))
    finally:
        if not args.keep_logs:
            shutil.rmtree(work, ignore_errors=True)
    print()
    print(
        f"{rows:,} requests, {len(files)} files, {DAYS} days; "
        f"benchmark wall {time.perf_counter() - started:.1f} s"
    )
    print()
    print_table(scenarios, rows)
    print(
        "peak RSS MB: summed over the phase's running processes (psutil, every 20 ms); max proc MB: the "
        "largest single process (its VmHWM, read every 20 ms); S3 bytes/requests: S3Store.counts summed over "
        "the processes"
    )
    print()
    print_processes(scenarios)
    print()
    print_partitions(scenarios, rows, len(files))


if __name__ == "__main__":
    main()
