"""modeshift's code location: configuration, storage layout, ingest, domain math and the Dagster wiring.

The Dagster composition root is :mod:`pipelines.definitions`; nothing else imports the ``assets`` package.
"""
