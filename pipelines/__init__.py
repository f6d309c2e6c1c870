"""modeshift's code location, in layers (each imports only the layers below it; checked by import-linter):

app        command line and the in-process runner
definitions  the composition root (the only importer of ``assets/``)
ops        Dagster partitions, jobs, schedules, sensors, resources
delivery | weekly   warehouse, analytics, report, charts, Slack | weekly profiles, plans, backtest
lake       lineage, rollups, weekly tables, rate card, per-minute series
ingest     landing, formats, staging, day merge, validation
domain     pure metric, cost and policy math
core       errors, paths, settings, atomic writes, SQL loader, vocabulary, request schema
"""
