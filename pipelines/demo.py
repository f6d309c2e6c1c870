"""``modeshift demo``: generate the demo traffic, land it, run everything through Dagster, print the result."""

from __future__ import annotations

import time

from pipelines.demo_data import generate_demo
from pipelines.home import Home
from pipelines.ingest.duck import connect
from pipelines.landing import land_file
from pipelines.markdown import markdown_table
from pipelines.runner import Progress, materialize_pending
from pipelines.sql_loader import load_sql


def run_demo(home: Home, scale: float = 1.0, progress: Progress = print) -> None:
    """Generate (deterministically) the demo logs under ``home/demo-source``, ingest them and print the summary."""
    started = time.monotonic()
    source_dir = home.root / "demo-source"
    progress(f"generating demo traffic (scale {scale}) in {source_dir} ...")
    manifest = generate_demo(source_dir, scale=scale)
    progress(f"  {manifest.rows:,} requests in {len(manifest.files)} files")
    new = sum(land_file(home, path, "canonical", {})[1] for path in manifest.files)
    progress(f"landed {new} new file(s) ({len(manifest.files) - new} already landed)")
    materialize_pending(home, progress=progress)
    with connect(home.warehouse, read_only=True) as con:
        relation = con.sql(load_sql("report_endpoint_summary"))
        rows = relation.fetchall()
        headers = relation.columns
    print()
    print("Ingested traffic per endpoint:")
    print(markdown_table(headers, rows))
    print()
    print(f"DuckDB warehouse: {home.warehouse}")
    print(f"Dagster instance: {home.dagster_home}  (DAGSTER_HOME={home.dagster_home} dagster dev)")
    print(f"demo finished in {time.monotonic() - started:.1f} s")
