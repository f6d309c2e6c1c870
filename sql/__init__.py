"""DuckDB SQL used by modeshift: one statement per file, loaded with :func:`pipelines.sql_loader.load_sql`.

Every value comes in through bound parameters (``$name``); the files never contain user strings.
"""
