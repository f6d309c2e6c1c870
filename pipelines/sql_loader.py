"""Load the SQL statements kept in the ``sql`` package (works from a checkout and from an installed wheel)."""

from __future__ import annotations

from functools import cache
from importlib import resources


@cache
def load_sql(name: str) -> str:
    """Return the text of ``sql/<name>.sql``; raises FileNotFoundError naming the file when it does not exist."""
    resource = resources.files("sql") / f"{name}.sql"
    if not resource.is_file():
        raise FileNotFoundError(f"no SQL file named {name}.sql in the modeshift sql package")
    return resource.read_text(encoding="utf-8")
