"""The one exception type users see: a clear sentence about what went wrong plus what to do about it."""

from __future__ import annotations


class ModeshiftError(Exception):
    """A problem the user can fix; ``str()`` is one sentence, ``hint`` says what to do."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} {self.hint}".strip()
