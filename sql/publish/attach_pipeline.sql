-- The pipeline's warehouse ($path) as database "pipeline", read-only: publishing copies from it, never writes it.
ATTACH $path AS pipeline (READ_ONLY)
