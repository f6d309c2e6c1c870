"""The ``modeshift`` command: land files, run what is pending through Dagster, run the demo, print reports.

Every error is one sentence plus what to do; set MODESHIFT_DEBUG=1 to see tracebacks.
"""

from __future__ import annotations

import argparse
import os
import sys
import textwrap
import time
from datetime import date
from pathlib import Path
from typing import Any

from pipelines.app.working_copy import local_home, working_copy
from pipelines.core.errors import ModeshiftError
from pipelines.core.home import Home
from pipelines.core.settings import Settings
from pipelines.core.text import escape_name

# Object mode (MODESHIFT_LAKE): every command works on a working copy of the lake (pipelines.app.working_copy).


def _source_files(paths: list[str]) -> list[Path]:
    files: list[Path] = []
    for raw in paths:
        path = Path(raw).expanduser()
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith(".")))
        elif path.is_file():
            files.append(path)
        else:
            raise ModeshiftError(f"{escape_name(raw)} does not exist.", "Check the path.")
    return files


def _load_mapping(path: str) -> dict[str, Any]:
    from pipelines.ingest.formats.mapped import load_mapping_file

    return load_mapping_file(Path(path).expanduser())


def ingest_command(args: argparse.Namespace) -> int:
    """Land files for ingest (the next ``modeshift materialize`` or the landing sensor processes them)."""
    from pipelines.core.atomic import remove_stale_temporaries
    from pipelines.ingest import landing

    with working_copy() as copy:
        return _ingest(copy, args, landing, remove_stale_temporaries)


def _ingest(copy, args: argparse.Namespace, landing, remove_stale_temporaries) -> int:  # noqa: ANN001
    home = copy.home
    remove_stale_temporaries(home.landing)  # partial copies of ingests that died: a full disk is freed first
    options: dict[str, Any] = {
        key: value
        for key, value in {
            "endpoint": args.endpoint,
            "anchor": args.anchor,
            "ts_unit": args.ts_unit,
            "model": args.model,
            "mapping": _load_mapping(args.mapping) if args.mapping else None,
            "endpoint_attribute": args.endpoint_attribute,
            "endpoint_by": args.endpoint_by,
        }.items()
        if value is not None
    }
    files = _source_files(args.paths)
    if not files:
        raise ModeshiftError("No files to ingest.", "Pass files or directories that contain them.")
    # Every file is checked (readable, options valid, staging query dry-run) and hashed before any is landed: a
    # directory with one bad file lands nothing, and the error names the file.
    prepared = [landing.prepare_landing(home, path, args.format, options) for path in files]
    by_content = landing.landed_by_content(home)  # before landing: the same bytes landed with other options
    landings = [(item.source, *landing.land_prepared(home, item)) for item in prepared]
    pushed = copy.commit()  # object mode: the bytes, then each manifest only if no other writer put it first
    refused = {key.removeprefix("landing/").split(".")[0] for key in (pushed.refused if pushed else [])}
    for key in pushed.refused if pushed else []:
        copy.mirror.forget_object(key)
    new = 0
    for path, landed, is_new in landings:
        if landed.file_id in refused:
            state, is_new = (
                "already landed (same content, by another writer at the same time), skipped",
                False,
            )
        else:
            state = "landed" if is_new else "already landed (same content, same options), skipped"
        new += is_new
        print(f"{escape_name(str(path))}: {state} as {landed.file_id}")
        others = [f for f in by_content.get(landed.sha256, []) if f.file_id != landed.file_id]
        if is_new and others:
            for other in others:
                print(
                    f"  same content as {other.file_id} landed with other options; landing again — "
                    f"'modeshift forget {other.file_id}' to drop the old one"
                )
    where = home.landing if copy.mirror is None else f"{copy.where}/landing"
    print(f"{new} new file(s) in {where}. Run 'modeshift materialize' to process them.")
    return 0


def formats_command(args: argparse.Namespace) -> int:
    """Print, per source format (or the one named), the file kinds it reads, what it is, the source fields it
    reads and the ``modeshift ingest`` options it takes."""
    from pipelines.ingest.formats.registry import describe_formats

    for described in describe_formats():
        if args.name and described.name != args.name:
            continue
        print(f"{described.name} ({', '.join(described.kinds)})")
        print(f"  {described.summary}")
        flags = [
            "--" + key.replace("_", "-") + (" (needed)" if key in described.required_options else "")
            for key in described.options
        ]
        print(f"  options: {', '.join(flags)}")
        fields = ", ".join(described.fields) if described.fields else "named by the --mapping file"
        print(f"  fields read: {fields}")
    return 0


def materialize_command(args: argparse.Namespace) -> int:
    """Run every pending partition (files, days, weeks) through Dagster in process."""
    from pipelines.app.runner import materialize_pending

    with working_copy(settle=True) as copy:
        home = copy.home
        summary = materialize_pending(
            home, progress=print if not args.quiet else lambda _: None, wait=not args.no_wait
        )
    runs = ", ".join(f"{count} {job}" for job, count in summary.runs.items())
    print(f"done in {summary.seconds:.1f} s ({runs} run(s)); warehouse: {home.warehouse}")
    refused = [staged for staged in summary.staged_files if staged.rows_in > 0 and staged.rows_staged == 0]
    for staged in refused:  # the whole file was refused: a wrong --format or option, most likely
        reasons = "; ".join(f"{reason} ({count:,})" for reason, count in list(staged.top_reasons.items())[:3])
        print(
            f"modeshift: error: nothing of {staged.original_name} ({staged.file_id}) was accepted: all "
            f"{staged.rows_in:,} row(s) were quarantined ({reasons}). Check --format ({staged.format}) and the "
            f"options ('modeshift formats {staged.format}'), ingest it again with the right ones and "
            f"'modeshift forget {staged.file_id}' this landing.",
            file=sys.stderr,
        )
    if summary.failed_files:  # everything else went through and was published; the exit status says so
        listed = "; ".join(summary.failed_files[:5]) + (" ..." if len(summary.failed_files) > 5 else "")
        print(
            f"modeshift: error: {len(summary.failed_files)} file(s) could not be staged: {listed}. Every other "
            "file was processed and analytics published. Fix the cause and run 'modeshift retry FILE_ID', or "
            "drop the file with 'modeshift forget FILE_ID' (then ingest it again with other options).",
            file=sys.stderr,
        )
        return 2
    return 2 if refused else 0


def retry_command(args: argparse.Namespace) -> int:
    """Put failed files back in the staging queue."""
    from pipelines.ingest.failures import retry_file

    with working_copy(commit=True) as copy:
        home = copy.home
        for file_id in args.file_ids:
            failure = retry_file(home, file_id)
            print(
                f"{failure.original_name} ({file_id}): will be staged again by the next 'modeshift materialize'"
            )
    return 0


def forget_command(args: argparse.Namespace) -> int:
    """Forget landed files (by id or by the path of the file ingested): failed, waiting, or already merged, whose
    rows then leave the lake and whose days and weeks the next materialize recomputes (pipelines.lake.forget)."""
    from pipelines.lake.forget import forget_landed, resolve_landed

    with working_copy(commit=True) as copy:
        home = copy.home
        named = {landed.file_id: landed for landed in (resolve_landed(home, name) for name in args.files)}
        for landed in named.values():  # every name resolved first: a typo forgets nothing
            forgotten = forget_landed(home, landed.file_id, wait=not args.no_wait)
            print(
                f"{forgotten.original_name} ({forgotten.file_id}): forgotten; 'modeshift ingest' can land it again"
            )
            if forgotten.had_rows_in_lake:
                days = sorted([*forgotten.reopened_days, *forgotten.emptied_days])
                weeks = ", ".join(week.isoformat() for week in forgotten.removed_weeks)
                print(
                    f"  its rows left the lake: {len(forgotten.reopened_days)} day(s) re-opened (merged again "
                    f"from the other files by the next materialize), {len(forgotten.emptied_days)} left without "
                    f"data ({', '.join(days[:10])}{' ...' if len(days) > 10 else ''})"
                    + (f"; weekly tables of week(s) {weeks} removed" if weeks else "")
                    + ". Run 'modeshift materialize' to recompute rollups, profiles and recommendations."
                )
    if (
        copy.mirror is not None
    ):  # committed: now the raw bytes of files never staged (not in the working copy)
        copy.mirror.store.delete([f"landing/{landed.file_id}{landed.suffix}" for landed in named.values()])
    return 0


def demo_command(args: argparse.Namespace) -> int:
    """Generate the demo data, ingest it, run everything and print the result."""
    from pipelines.app.demo import run_demo

    home = local_home()
    Settings.load(home)
    run_demo(home, scale=args.scale, progress=print, wait=not args.no_wait)
    return 0


def ui_command(args: argparse.Namespace) -> int:
    """Start the Dagster UI on this home's instance (``dagster dev``), or print the command with ``--print``."""
    from pipelines.app.ui import run_ui, ui_command_line

    home = local_home()
    if args.print:
        argv, env = ui_command_line(home, args.host, args.port)
        print(f"MODESHIFT_HOME={env['MODESHIFT_HOME']} DAGSTER_HOME={env['DAGSTER_HOME']} {' '.join(argv)}")
        return 0
    run_ui(home, args.host, args.port)
    return 1


def _week_option(text: str | None) -> date | None:
    """The Monday a ``--week YYYY-MM-DD`` option names (None when not given); a clear error otherwise."""
    if not text:
        return None
    try:
        week = date.fromisoformat(text)
    except ValueError:
        raise ModeshiftError(f"'{text}' is not a date.", "Use --week YYYY-MM-DD (a Monday).") from None
    if week.weekday() != 0:
        raise ModeshiftError(f"{text} is not a Monday.", "Weeks start on Monday (UTC).")
    return week


def report_command(args: argparse.Namespace) -> int:
    """Print one week's recommendations (default: the newest week)."""

    from pipelines.delivery.report import render_report

    week = _week_option(args.week)
    with working_copy({"warehouse.duckdb": None}, settle=True, read_only=True) as copy:
        home = copy.home
        print(render_report(home.warehouse, week, args.top, args.min_saving), end="")
        print(f"home: {home.root}")
    return 0


def slack_command(args: argparse.Namespace) -> int:
    """Send one week's Slack report (or with --dry-run print it), once: the sensor's record is shared."""
    from pipelines.app.runner import dagster_instance
    from pipelines.delivery.slack_delivery import SlackTarget
    from pipelines.lake.step_inputs import report_inputs
    from pipelines.ops.slack_command import send_week

    week = _week_option(args.week)
    if week is None:
        raise ModeshiftError("slack needs a week.", "Use --week YYYY-MM-DD (a Monday).")
    with working_copy(report_inputs(), commit=not args.dry_run, settle=True) as copy:
        home = copy.home
        with dagster_instance(home) as instance:
            outcome = send_week(
                instance, home, Settings.load(home), week, SlackTarget.from_env(), args.dry_run
            )
    if outcome.text:
        print(outcome.text)
    print(outcome.line, file=sys.stderr if outcome.status in ("previewed", "failed") else sys.stdout)
    return 1 if outcome.status == "failed" else 0


def calibrate_command(args: argparse.Namespace) -> int:
    """Print, per endpoint served on dedicated replicas with a declared replica count, the per-replica capacity its
    traffic shows beside the card's assumption. Only reads: a home that does not exist is not created."""
    from pipelines.delivery.calibration_report import render_calibration
    from pipelines.lake.calibration import calibrate

    with working_copy({"lake/requests/": None}, read_only=True) as copy:
        home = copy.home
        settings = Settings.load(home)
        result = calibrate(home, settings)
    print(render_calibration(result.rows, result.other_endpoints), end="")
    return 0


def whatif_command(args: argparse.Namespace) -> int:
    """Cost one plan (``--plan``) for one endpoint's week beside the week's recommendation. Only reads the lake: a
    home that does not exist is not created."""
    import json

    from pipelines.delivery.whatif_report import render_whatif
    from pipelines.domain.whatif import parse_plan_spec
    from pipelines.lake.step_inputs import week_inputs
    from pipelines.weekly.whatif import compute_whatif, resolve_week

    try:
        spec = parse_plan_spec(args.plan)
    except ValueError as error:
        raise ModeshiftError(f"{error}.") from None
    week = _week_option(args.week)
    with working_copy(read_only=True) as copy:
        home = copy.home
        settings = Settings.load(home)
        resolved = resolve_week(home, week)
        copy.bring_in(week_inputs(resolved))
        result = compute_whatif(home, settings, resolved, args.endpoint, spec).as_dict()
    print(json.dumps(result, indent=2) if args.json else render_whatif(result), end="\n" if args.json else "")
    return 0


def export_focus_command(args: argparse.Namespace) -> int:
    """Write one week's observed serverless spend as a FOCUS 1.2 file (Parquet or CSV). Only reads the week's
    rollups: a home that does not exist is not created."""
    from pipelines.delivery.focus_export import export_focus
    from pipelines.lake.step_inputs import focus_export_inputs

    week = _week_option(args.week)
    if week is None:
        raise ModeshiftError("export focus needs a week.", "Use --week YYYY-MM-DD (a Monday).")
    out = Path(args.out or f"focus-{week.isoformat()}.parquet").expanduser().absolute()
    with working_copy(read_only=True) as copy:
        home = copy.home
        settings = Settings.load(home)
        copy.bring_in(focus_export_inputs(week))
        result = export_focus(home, settings, week, out, (args.billing_account or "").strip() or None)
    print(
        f"{result.path}: {result.rows} FOCUS 1.2 row(s), {len(result.days)} day(s), list cost "
        f"${result.list_cost_usd:,.2f}, billed cost in the log ${result.billed_cost_usd:,.2f}"
    )
    if result.unpriced_requests or result.not_serverless_requests:
        print(
            f"left out: {result.unpriced_requests:,} request(s) of unpriced models, "
            f"{result.not_serverless_requests:,} in minutes with dedicated or batch requests "
            f"(${result.not_serverless_list_cost_usd:,.2f} at list price)"
        )
    return 0


def status_command(args: argparse.Namespace) -> int:
    """Print what is landed, staged and pending."""
    with working_copy(settle=True, read_only=True) as copy:
        home = copy.home
        _print_status(home, copy.where)
    return 0


def _print_status(home: Home, lake: str) -> None:
    """What ``status`` prints for ``home``, whose lake is at ``lake``."""
    from pipelines.ingest.day_merge import pending_days
    from pipelines.ingest.failures import failed_files
    from pipelines.ingest.landing import landed_files, orphan_copies
    from pipelines.ingest.staging import all_staged
    from pipelines.ingest.usage_merge import pending_usage_days

    landed = landed_files(home)
    staged = {s.file_id for s in all_staged(home)}
    failed = failed_files(home)
    days = sorted(set(pending_days(home)) | set(pending_usage_days(home)))
    waiting = [f for f in landed if f.file_id not in staged and f.file_id not in failed]
    print(f"home:      {home.root}")
    print(f"lake:      {lake}")
    print(f"landed:    {len(landed)} file(s), {len(waiting)} not staged yet, {len(failed)} failed")
    for failure in failed.values():
        print(f"failed:    {failure.original_name} ({failure.file_id}) at {failure.at}: {failure.error}")
    if failed:
        print(
            "           fix the cause, then 'modeshift retry FILE_ID', or 'modeshift forget FILE_ID' to drop it"
        )
    orphans = orphan_copies(home)
    if orphans:
        print(
            f"orphans:   {len(orphans)} landed cop(ies) without a manifest (an ingest that died): removed by the "
            "next materialize; ingest those files again"
        )
    print(f"pending:   {len(days)} day(s){': ' + ', '.join(days[:10]) if days else ''}")
    print(f"warehouse: {home.warehouse}")


def analytics_download_command(args: argparse.Namespace) -> int:
    """Object mode: download the published analytics snapshot into a directory DuckDB can open offline."""
    from pipelines.core.object_store import LAKE_ENV, configured_store
    from pipelines.delivery.published_lake import download_published

    store = configured_store()
    if store is None:
        raise ModeshiftError(
            f"{LAKE_ENV} is not set: the published file is already local (analytics.duckdb in MODESHIFT_HOME).",
            f"Set {LAKE_ENV} to the lake to download from.",
        )
    download = download_published(store, Path(args.directory).expanduser())
    print(f"{download.path}: snapshot {download.snapshot}, {download.request_days} day(s) of requests")
    return 0


def gc_command(args: argparse.Namespace) -> int:
    """Object mode: delete the lake's unreferenced objects older than the grace period."""
    from pipelines.core.lake_mirror import collect_garbage
    from pipelines.core.object_store import LAKE_ENV, configured_store

    store = configured_store()
    if store is None:
        raise ModeshiftError(f"{LAKE_ENV} is not set: a local lake has no garbage to collect.")
    report = collect_garbage(store, grace_s=args.grace_hours * 3600)
    print(f"{store.url}: deleted {len(report.deleted)} object(s); {len(report.kept_young)} younger kept")
    return 0


_NO_WAIT_HELP = (
    "when another materialize or demo runs on this home, exit at once saying which (default: wait for it)"
)


def _version() -> str:
    """The installed modeshift version (from the package metadata; 'unknown' when run from a bare checkout)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("modeshift")
    except PackageNotFoundError:
        return "unknown"


def _ingest_formats_epilog() -> str:
    """What ``ingest --help`` lists per format, from the format registry: the file kinds it reads, the options every
    file needs and those it takes."""
    from pipelines.ingest.formats.registry import describe_formats

    lines = ["formats (details: 'modeshift formats NAME'):"]
    for described in describe_formats():
        needs = [_flag(key) for key in described.required_options]
        takes = [_flag(key) for key in described.options if key not in described.required_options]
        parts = [f"needs {', '.join(needs)}" if needs else "needs no option"]
        if takes:
            parts.append(f"takes {', '.join(takes)}")
        lines.append(f"  {described.name} ({', '.join(described.kinds)}): {'; '.join(parts)}")
    return "\n".join(lines)


def _flag(key: str) -> str:
    """The ``modeshift ingest`` flag of an option key: ``ts_unit`` → ``--ts-unit``."""
    return "--" + key.replace("_", "-")


def _add_command(
    commands: argparse._SubParsersAction,
    name: str,
    summary: str,
    description: str,
    examples: list[str],
    epilog: str = "",
) -> argparse.ArgumentParser:
    """A subcommand whose ``--help`` shows ``description`` and, after its options, ``examples`` (and ``epilog``)
    laid out as written."""
    shown = "\n".join(f"  {example}" for example in examples)
    return commands.add_parser(
        name,
        help=summary,
        description=textwrap.fill(description, width=100, break_on_hyphens=False),
        epilog=f"example{'s' if len(examples) > 1 else ''}:\n{shown}" + (f"\n\n{epilog}" if epilog else ""),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``modeshift`` command."""
    from pipelines.ingest.formats.openai_usage import ENDPOINT_BY
    from pipelines.ingest.formats.options import TS_UNITS
    from pipelines.ingest.formats.registry import FORMAT_NAMES

    parser = argparse.ArgumentParser(
        prog="modeshift",
        description="Weekly deployment-mode recommendations from LLM request logs. "
        "State lives in MODESHIFT_HOME (default ./.modeshift).",
        epilog="Start with 'modeshift demo', or 'modeshift ingest' then 'modeshift materialize' on your logs; "
        "'modeshift COMMAND --help' shows each command with an example.",
    )
    parser.add_argument("--version", action="version", version=f"modeshift {_version()}")
    commands = parser.add_subparsers(dest="command", required=True)

    ingest = _add_command(
        commands,
        "ingest",
        "land log files for ingest",
        "Land log files (or every file under a directory) in the home: checked, then copied in and named by their "
        "content and how they are read (format and options). The same bytes with the same options land once; "
        "with other options they land as a new file. Nothing is parsed until 'modeshift materialize'.",
        [
            "modeshift ingest --format litellm logs/2026-11/",
            "modeshift ingest --format azure-trace --endpoint code --model gpt-4 AzureLLMInferenceTrace_code.csv",
        ],
        _ingest_formats_epilog(),
    )
    ingest.add_argument("--format", required=True, choices=FORMAT_NAMES, help="source format")
    ingest.add_argument("--endpoint", help="endpoint name for every row of these files")
    ingest.add_argument("--mapping", help="YAML mapping file (format 'mapped')")
    ingest.add_argument("--anchor", help="ISO time the file's offset timestamps count from (e.g. BurstGPT)")
    ingest.add_argument("--ts-unit", choices=TS_UNITS, help="unit of numeric timestamps (default: ISO text)")
    ingest.add_argument("--model", help="model name for formats without one (azure-trace)")
    ingest.add_argument(
        "--endpoint-attribute", help="attribute naming the endpoint (otel-genai; default service.name)"
    )
    ingest.add_argument(
        "--endpoint-by",
        choices=ENDPOINT_BY,
        help="aggregated usage exports (openai-usage): the result field that names the endpoint (default project_id)",
    )
    ingest.add_argument("paths", nargs="+", help="files or directories")
    ingest.set_defaults(handler=ingest_command)

    formats = _add_command(
        commands,
        "formats",
        "what each --format reads: file kinds, fields and options",
        "Print, per source format, the file kinds it reads, what it is, the source fields it reads and the "
        "'modeshift ingest' options it takes ('(needed)': every file needs it).",
        ["modeshift formats", "modeshift formats otel-genai"],
    )
    formats.add_argument("name", nargs="?", choices=FORMAT_NAMES, help="one format (default: all)")
    formats.set_defaults(handler=formats_command)

    materialize = _add_command(
        commands,
        "materialize",
        "process everything pending through Dagster",
        "Run everything pending through Dagster, in process: stage the landed files, merge and roll up the days "
        "they touch, compute the weeks, refresh warehouse.duckdb and publish analytics.duckdb. Only what changed "
        "is recomputed. Exit status 2 when a file could not be staged or had no row accepted.",
        ["modeshift materialize", "modeshift materialize --quiet --no-wait"],
    )
    materialize.add_argument("--quiet", action="store_true", help="no progress lines")
    materialize.add_argument("--no-wait", action="store_true", help=_NO_WAIT_HELP)
    materialize.set_defaults(handler=materialize_command)

    demo = _add_command(
        commands,
        "demo",
        "generate the demo data and run everything on it",
        "Generate synthetic request logs (under MODESHIFT_HOME/demo-source), ingest and materialize them, and "
        "print the newest week's recommendations.",
        ["MODESHIFT_HOME=/tmp/demo modeshift demo", "modeshift demo --scale 0.2"],
    )
    demo.add_argument("--scale", type=float, default=1.0, help="traffic scale of the demo (default 1.0)")
    demo.add_argument("--no-wait", action="store_true", help=_NO_WAIT_HELP)
    demo.set_defaults(handler=demo_command)

    ui = _add_command(
        commands,
        "ui",
        "the Dagster UI (dagster dev) on this home's runs, checks and charts",
        "Start the Dagster UI (dagster dev) on this home: DAGSTER_HOME and MODESHIFT_HOME are set as absolute "
        "paths, so it works from any directory.",
        ["modeshift ui", "modeshift ui --port 3001 --print"],
    )
    ui.add_argument("--host", default="127.0.0.1", help="address the UI listens on (default 127.0.0.1)")
    ui.add_argument("--port", type=int, default=3000, help="port of the UI (default 3000)")
    ui.add_argument(
        "--print", action="store_true", help="print the dagster dev command instead of running it"
    )
    ui.set_defaults(handler=ui_command)

    report = _add_command(
        commands,
        "report",
        "print a week's recommendations, largest savings first",
        "Print one week's recommendation per endpoint (serverless, dedicated or batch), largest weekly saving "
        "first. Only reads the warehouse.",
        ["modeshift report", "modeshift report --week 2026-11-09 --top 10 --min-saving 50"],
    )
    report.add_argument("--week", help="the week's Monday, YYYY-MM-DD (default: the newest week)")
    report.add_argument("--top", type=int, help="list only the N endpoints with the largest savings")
    report.add_argument(
        "--min-saving", type=float, metavar="USD", help="list only endpoints saving at least USD a week"
    )
    report.set_defaults(handler=report_command)

    slack = _add_command(
        commands,
        "slack",
        "send one week's Slack report now (once: a week the sensor sent is not sent again)",
        "Send (or with --dry-run, print) the weekly Slack report of one week without the Dagster UI. It shares "
        "the sensor's record of what was sent, so a week is posted once whichever sends it.",
        ["modeshift slack --week 2026-11-09 --dry-run", "modeshift slack --week 2026-11-09"],
        epilog="Exit status: 0 sent (or already sent, or previewed), 1 Slack did not take it (run it again), "
        "2 the week cannot be sent (not computed yet, checks failed, no token).",
    )
    slack.add_argument("--week", required=True, help="the week's Monday, YYYY-MM-DD")
    slack.add_argument("--dry-run", action="store_true", help="print the message as text and send nothing")
    slack.set_defaults(handler=slack_command)

    calibrate = _add_command(
        commands,
        "calibrate",
        "estimate what dedicated replicas sustain from the traffic they served, beside the card's capacity",
        "For each endpoint served on dedicated replicas with a declared replica count, estimate the per-replica "
        "capacity its traffic shows, beside the capacity the card assumes. Only reads the lake.",
        ["modeshift calibrate"],
    )
    calibrate.set_defaults(handler=calibrate_command)

    whatif = _add_command(
        commands,
        "whatif",
        "cost a plan you name for one endpoint's week, beside the week's recommendation",
        "Cost one plan you name for one endpoint's week (replicas, autoscaling, a schedule, serverless, batch or "
        "a pool), beside the plan the week's recommendation chose. Only reads the lake.",
        [
            "modeshift whatif --endpoint chat-api --plan fixed:3",
            "modeshift whatif --endpoint chat-api --plan 'scheduled:2@weekdays 08-20 Europe/Berlin' --json",
        ],
    )
    whatif.add_argument("--endpoint", required=True, help="the endpoint (for a pool: one of its members)")
    whatif.add_argument(
        "--plan",
        required=True,
        help="fixed:3 | autoscale:1-4 | 'scheduled:2@weekdays 08-20 Europe/Berlin' | serverless | batch | "
        "pool:chat-api,support-agent",
    )
    whatif.add_argument(
        "--week", help="the week's Monday, YYYY-MM-DD (default: the newest week with recommendations)"
    )
    whatif.add_argument("--json", action="store_true", help="print the result as JSON")
    whatif.set_defaults(handler=whatif_command)

    export = _add_command(
        commands,
        "export",
        "write data for other tools (focus: a FOCUS 1.2 cost file)",
        "Write data for other tools. 'focus': one week's observed serverless spend as a FOCUS 1.2 file.",
        ["modeshift export focus --week 2026-11-09 --out focus.csv"],
    )
    targets = export.add_subparsers(dest="target", required=True)
    focus = _add_command(
        targets,
        "focus",
        "one week's observed serverless spend per endpoint, model, day and token kind, FOCUS 1.2",
        "Write one week's observed serverless spend per endpoint, model, day and token kind as a FOCUS 1.2 file "
        "(Parquet or CSV, by the --out suffix). Only reads the week's rollups.",
        [
            "modeshift export focus --week 2026-11-09",
            "modeshift export focus --week 2026-11-09 --out spend.csv",
        ],
    )
    focus.add_argument("--week", required=True, help="the week's Monday, YYYY-MM-DD")
    focus.add_argument("--out", help="FILE.parquet or FILE.csv (default: focus-WEEK.parquet here)")
    focus.add_argument(
        "--billing-account", help="BillingAccountId to write (default: the provider's name in the profiles)"
    )
    focus.set_defaults(handler=export_focus_command)

    status = _add_command(
        commands,
        "status",
        "what is landed, pending and failed",
        "Print what the home holds: files landed, not staged yet and failed (with their error), days pending, "
        "where the lake and the warehouse are. Only reads.",
        ["modeshift status"],
    )
    status.set_defaults(handler=status_command)

    retry = _add_command(
        commands,
        "retry",
        "stage failed files again at the next materialize",
        "Put files set aside as failed back in the queue: the next 'modeshift materialize' stages them again "
        "(after you fixed the cause, e.g. freed disk space).",
        ["modeshift retry 3f2a9c0d1e4b5a6c7d8e && modeshift materialize"],
    )
    retry.add_argument("file_ids", nargs="+", metavar="FILE_ID", help="ids shown by 'modeshift status'")
    retry.set_defaults(handler=retry_command)

    forget = _add_command(
        commands,
        "forget",
        "take landed files back out: failed, waiting, or already merged (their rows leave the lake)",
        "Forget landed files, as if they had never been ingested. A file already merged leaves the lake at once: "
        "its days are re-opened (merged again from the other files, or gone when no other file has rows on "
        "them) and the weeks they touch are recomputed by the next 'modeshift materialize'. A file is named by "
        "its id, or by the path of the file you ingested (its content is looked up).",
        [
            "modeshift forget 3f2a9c0d1e4b5a6c7d8e && modeshift materialize",
            "modeshift forget logs/2026-11/gateway.jsonl",
        ],
    )
    forget.add_argument(
        "files", nargs="+", metavar="FILE_ID|PATH", help="ids shown by 'modeshift status', or ingested files"
    )
    forget.add_argument("--no-wait", action="store_true", help=_NO_WAIT_HELP)
    forget.set_defaults(handler=forget_command)

    download = _add_command(
        commands,
        "analytics-download",
        "object mode: download the published analytics.duckdb and its request files",
        "Object mode (MODESHIFT_LAKE): download the published analytics snapshot and the request files its views "
        "read into a directory, a database DuckDB opens offline.",
        ["MODESHIFT_LAKE=s3://bucket/lake modeshift analytics-download ./analytics"],
    )
    download.add_argument("directory", help="where to put analytics.duckdb and requests/")
    download.set_defaults(handler=analytics_download_command)

    gc = _add_command(
        commands,
        "gc",
        "object mode: delete unreferenced lake objects (old versions, orphans)",
        "Object mode (MODESHIFT_LAKE): delete the lake's objects no commit record refers to (superseded versions, "
        "files of writers that died) once older than the grace period, and raw landed bytes already staged.",
        ["MODESHIFT_LAKE=s3://bucket/lake modeshift gc --grace-hours 24"],
    )
    gc.add_argument(
        "--grace-hours", type=float, default=1.0, help="keep objects younger than this (default 1)"
    )
    gc.set_defaults(handler=gc_command)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point: run one command; errors become one clear sentence and a non-zero exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    started = time.monotonic()
    try:
        return int(args.handler(args) or 0)
    except ModeshiftError as error:
        print(f"modeshift: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            "modeshift: interrupted; re-run the same command to continue (work is idempotent).",
            file=sys.stderr,
        )
        return 130
    except Exception as error:  # noqa: BLE001 - the last line of defence: one sentence, no traceback
        if os.environ.get("MODESHIFT_DEBUG"):
            raise
        from pipelines.core.disk import clear_disk_error

        disk = clear_disk_error(Home.from_env().root, error)
        if disk is not None:
            print(f"modeshift: error: {disk}", file=sys.stderr)
            return 2
        print(
            f"modeshift: unexpected error after {time.monotonic() - started:.0f} s: {type(error).__name__}: "
            f"{str(error).splitlines()[0] if str(error) else ''}. Re-run with MODESHIFT_DEBUG=1 for details.",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
