"""Weekly compute: per ISO week, read the lake, call the pure domain math, return the weekly tables (profiles,
spend concentration, plan curves, recommendations, backtest). Imports lake, domain and core only.
"""
