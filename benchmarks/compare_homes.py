"""Compare the outputs of two homes built from the same input, table by table and row by row, independently of
file layout and row order: the request lake, the quarantine, the daily rollups and every weekly table.

    .venv/bin/python -m benchmarks.compare_homes HOME_A HOME_B

For each table it prints the row count in each home and whether the contents are equal: per column, an
order-independent digest (bit_xor of the row hashes) of its exact values. A floating-point column whose digests
differ is then compared by its sum, minimum and maximum within 1e-9 relative (a parallel sum may add in another
order and differ in the last bits); it is reported as "equal within 1e-9" when those agree. Columns that differ between
two landings of the same bytes by construction (``landed_at_ns``) or that record when a table was computed are left
out and named. Exit status 1 when a table differs.
"""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb

TABLES = {
    "requests": "lake/requests/day=*/*.parquet",
    "quarantine": "lake/quarantine/day=*/*.parquet",
    "rollup minutes": "lake/rollups/day=*/minutes.parquet",
    "rollup interarrival": "lake/rollups/day=*/interarrival.parquet",
    "rollup histograms": "lake/rollups/day=*/histograms.parquet",
    "rollup latency_hours": "lake/rollups/day=*/latency_hours.parquet",
}
LEFT_OUT = ("landed_at_ns", "computed_at", "generated_at", "published_at")


def _tables(home: Path) -> dict[str, str]:
    root = home / "lake" / "weekly"
    names = sorted(p.name for p in root.iterdir() if not p.name.startswith(".")) if root.exists() else []
    return TABLES | {f"weekly {name}": f"lake/weekly/{name}/week=*/*.parquet" for name in names}


def digest(con: duckdb.DuckDBPyConnection, pattern: str) -> tuple[int, dict[str, int], dict[str, tuple]]:
    """(rows, {column: order-independent digest}, {float column: (sum, min, max)}) of the Parquet files matching
    ``pattern``."""
    relation = con.sql("SELECT * FROM read_parquet($p, union_by_name = true)", params={"p": pattern})
    columns = [c for c in relation.columns if c not in LEFT_OUT]
    floats = [
        c for c, t in zip(relation.columns, relation.dtypes, strict=True) if str(t) in ("DOUBLE", "FLOAT")
    ]
    quoted = {c: '"' + c.replace('"', '""') + '"' for c in relation.columns}
    parts = [f"bit_xor(hash({quoted[c]}))" for c in columns]
    parts += [f"sum({quoted[c]}), min({quoted[c]}), max({quoted[c]})" for c in floats]
    row = relation.aggregate(", ".join(["count(*)", *parts])).fetchall()[0]
    digests = dict(zip(columns, row[1 : 1 + len(columns)], strict=True))
    rest = row[1 + len(columns) :]
    stats = {c: tuple(rest[3 * i : 3 * i + 3]) for i, c in enumerate(floats)}
    return int(row[0]), digests, stats


def _close(a: tuple, b: tuple) -> bool:
    """Whether two (sum, min, max) agree within 1e-9 relative (both NULL counts as agreeing)."""
    return all(
        (x is None and y is None)
        or (x is not None and y is not None and abs(x - y) <= 1e-9 * max(abs(x), abs(y), 1e-12))
        for x, y in zip(a, b, strict=True)
    )


def main() -> None:
    """Print the comparison of the two homes given on the command line."""
    a, b = (Path(arg) for arg in sys.argv[1:3])
    con = duckdb.connect()
    different = 0
    for table, pattern in _tables(a).items():
        try:
            rows_a, columns_a, floats_a = digest(con, str(a / pattern))
            rows_b, columns_b, floats_b = digest(con, str(b / pattern))
        except duckdb.IOException:
            print(f"{table:<34} missing in one home")
            different += 1
            continue
        unequal = sorted(
            c for c in columns_a.keys() | columns_b.keys() if columns_a.get(c) != columns_b.get(c)
        )
        close = [c for c in unequal if c in floats_a and c in floats_b and _close(floats_a[c], floats_b[c])]
        exact = [c for c in unequal if c not in close]
        if rows_a != rows_b or exact:
            status = f"DIFFERENT: {', '.join(exact) or 'row count'}"
            different += 1
        else:
            status = "equal" + (f" ({', '.join(close)} within 1e-9)" if close else "")
        print(f"{table:<34} {rows_a:>12,} {rows_b:>12,}  {status}")
    print(f"left out everywhere: {', '.join(LEFT_OUT)}")
    sys.exit(1 if different else 0)


if __name__ == "__main__":
    main()
