"""Load the SQL statements kept in the ``sql`` package, one statement per file, grouped by stage
(``sql/ingest/``, ``sql/rollup/``, ``sql/warehouse/``, ``sql/publish/``, ``sql/report/``, ``sql/analyst/``).
Works from a checkout and from an installed wheel."""

from __future__ import annotations

from functools import cache
from importlib import resources
from importlib.abc import Traversable


def sql_resource(name: str) -> Traversable:
    """The packaged file ``sql/<name>.sql``; ``name`` is ``stage/statement``, e.g. ``ingest/merge_day``."""
    return resources.files("sql").joinpath(*f"{name}.sql".split("/"))


@cache
def load_sql(name: str) -> str:
    """Return the text of ``sql/<name>.sql``; raises FileNotFoundError naming the file when it does not exist."""
    resource = sql_resource(name)
    if not resource.is_file():
        raise FileNotFoundError(f"no SQL file named {name}.sql in the modeshift sql package")
    return resource.read_text(encoding="utf-8")
