"""``modeshift demo``: generate the demo traffic, land it, run everything through Dagster, print the result."""

from __future__ import annotations

import time

import yaml

from pipelines.app.runner import Progress, materialize_pending
from pipelines.app.ui import ui_hint
from pipelines.core.atomic import replace_file, temp_sibling
from pipelines.core.home import Home
from pipelines.core.run_lock import materialize_lock
from pipelines.core.sql_loader import sql_resource
from pipelines.delivery.publish import analytics_path
from pipelines.delivery.report import render_report
from pipelines.demo_data.generator import demo_days, generate_demo
from pipelines.ingest.landing import land_file

# The demo covers three weeks: commitments are simulated on all of them.
DEMO_COMMITMENT_LOOKBACK_WEEKS = 3


def run_demo(home: Home, scale: float = 1.0, progress: Progress = print, wait: bool = True) -> None:
    """Generate (deterministically) the demo logs under ``home/demo-source``, ingest them, run everything and print
    the newest week's recommendations. The whole demo holds the home's materialize lock (``wait``: queue behind
    another materialize or demo, else fail at once naming it)."""
    with materialize_lock(home, command="demo", wait=wait, progress=progress):
        _run_demo(home, scale, progress)


def _run_demo(home: Home, scale: float, progress: Progress) -> None:
    started = time.monotonic()
    source_dir = home.root / "demo-source"
    progress(f"generating demo traffic (scale {scale}) in {source_dir} ...")
    manifest = generate_demo(source_dir, scale=scale)
    landings = [(path, "canonical") for path in manifest.files]
    landings += [(path, "litellm") for path in manifest.litellm_files]
    progress(
        f"  {manifest.rows:,} requests in {len(landings)} files ({len(manifest.files)} canonical daily logs, "
        f"{len(manifest.litellm_files)} weekly LiteLLM spend logs)"
    )
    _configure_demo_slos(home, manifest.ground_truth, progress)
    new = sum(land_file(home, path, log_format, {})[1] for path, log_format in landings)
    progress(f"landed {new} new file(s) ({len(landings) - new} already landed)")
    materialize_pending(home, progress=progress, command="demo")  # the lock is ours already (re-entrant)
    print()
    print(render_report(home.warehouse))
    top_savings_sql = sql_resource("analyst/top_savings")
    print(f"analytics (read-only, for analysts): {analytics_path(home)}")
    print(f'  try: duckdb -readonly "{analytics_path(home)}" -f {top_savings_sql}')
    print(f"DuckDB warehouse: {home.warehouse}")
    print(f"Dagster instance: {home.dagster_home}  (the UI: {ui_hint(home)})")
    print(f"ground truth:     {manifest.ground_truth_path}")
    print(f"demo finished in {time.monotonic() - started:.1f} s")


def _configure_demo_slos(home: Home, truth: dict, progress: Progress) -> None:
    """Give the demo's SLO endpoints their latency SLO (from the ground truth) in the home's config.yaml, the
    commitments a lookback of the demo's three weeks (the default four would never recommend one), and
    ``ingest.start_date`` the demo's first day (so the Dagster UI's partitions begin with the demo's data), when the
    home has none yet; a home with its own config.yaml is left alone (and told so)."""
    slos = {name: expected["slo"] for name, expected in truth["endpoints"].items() if "slo" in expected}
    if not slos:
        return
    listed = ", ".join(f"{name} {slo}" for name, slo in slos.items())
    if home.config_file.exists():
        progress(f"{home.config_file} exists: the demo's latency SLOs ({listed}) are not added to it")
        return
    text = (
        "# Written by 'modeshift demo': the demo's latency SLOs (docs/cost-model.md#latency-slos), and commitments\n"
        "# simulated on the demo's three weeks (docs/cost-model.md#commitments; the default lookback is 4 weeks), and\n"
        "# the first day of the demo's data: the Dagster partitions begin there (docs/scaling.md#partitions).\n"
    )
    start = demo_days()[0].isoformat()
    settings = {
        "slos": slos,
        "commitments": {"lookback_weeks": DEMO_COMMITMENT_LOOKBACK_WEEKS},
        "ingest": {"start_date": start},
    }
    tmp = temp_sibling(home.config_file)
    tmp.write_text(text + yaml.safe_dump(settings, sort_keys=True), encoding="utf-8")
    replace_file(tmp, home.config_file)
    progress(
        f"wrote {home.config_file}: latency SLOs {listed}; commitments.lookback_weeks "
        f"{DEMO_COMMITMENT_LOOKBACK_WEEKS}; ingest.start_date {start}"
    )
