"""The command-line application: ``modeshift ingest / materialize / report / status / demo`` and the in-process
runner. The top layer: it runs the jobs of the composition root.
"""
