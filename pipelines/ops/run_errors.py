"""The one line of a failed Dagster step a person needs: Dagster wraps the error an asset raised in its own
errors, so the line is taken from the first error in the cause chain that is not one of Dagster's wrappers."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the error records Dagster keeps of failed steps
    from dagster._utils.error import SerializableErrorInfo

_MODESHIFT_ERROR_PREFIX = "pipelines.core.errors.ModeshiftError: "
MAX_LINE = 300


def error_line(error: SerializableErrorInfo | None, fallback: str = "the run failed") -> str:
    """First line (at most 300 characters) of the first non-Dagster error in ``error``'s cause chain; modeshift's
    own errors without their class name (their message is written for people); ``fallback`` when empty."""
    while error is not None and error.cause is not None and error.message.startswith("dagster."):
        error = error.cause
    if error is None or not error.message.strip():
        return fallback
    return error.message.strip().splitlines()[0].removeprefix(_MODESHIFT_ERROR_PREFIX)[:MAX_LINE]
