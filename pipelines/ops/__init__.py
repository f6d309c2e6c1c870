"""Dagster operations: partitions, jobs, schedules, sensors, resources and recovery of dead runs. Imports every
layer below it, never the assets (only the composition root does).
"""
