"""Ingest: parse a landed file into per-day slices (staging), then merge each UTC day exactly once (day merge)."""
