"""Core: what every layer may use — errors, the home's paths, typed settings, atomic writes, process identity,
the DuckDB connection, the SQL loader, text helpers, the calendar, the request schema and the vocabulary.
Imports nothing else of modeshift.
"""
