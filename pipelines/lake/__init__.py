"""Lake: the derived data on disk and how fresh it is — fingerprints (lineage), daily rollups, the weekly tables,
the rate card and the dense per-minute series the weekly step and the charts read. Imports ingest, domain, core.
"""
