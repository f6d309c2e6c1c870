"""Delivery: what leaves the lake for people — the warehouse DuckDB file, the analysts' snapshot, the terminal
report, charts and the Slack report. Reads the lake; never imports the weekly compute.
"""
