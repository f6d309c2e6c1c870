"""Compare the outputs of two homes built from the same input, table by table and row by row, independently of
file layout and row order: the request lake, the quarantine, the daily rollups and every weekly table.

    .venv/bin/python -m benchmarks.compare_homes HOME_A HOME_B

For each table it prints the row count in each home and whether the contents are equal: per column, an
order-independent digest (bit_xor of the row hashes) of its values, floating-point values rounded to 9 significant
digits first (a parallel sum may add in another order and differ in the last bits). Columns that differ between
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


def digest(con: duckdb.DuckDBPyConnection, pattern: str) -> tuple[int, dict[str, int]]:
    """(rows, {column: order-independent digest}) of the Parquet files matching ``pattern``."""
    relation = con.sql("SELECT * FROM read_parquet($p, union_by_name = true)", params={"p": pattern})
    parts = []
    for name, dtype in zip(relation.columns, relation.dtypes, strict=True):
        if name in LEFT_OUT:
            continue
        quoted = '"' + name.replace('"', '""') + '"'
        value = (
            f"round({quoted}, 9 - CAST(ceil(log10(abs({quoted}) + 1e-300)) AS INTEGER))"
            if str(dtype) in ("DOUBLE", "FLOAT")
            else quoted
        )
        parts.append(f"bit_xor(hash({value})) AS {quoted}")
    row = relation.aggregate(", ".join(["count(*) AS __rows", *parts])).fetchall()[0]
    columns = [c for c in relation.columns if c not in LEFT_OUT]
    return int(row[0]), dict(zip(columns, row[1:], strict=True))


def main() -> None:
    """Print the comparison of the two homes given on the command line."""
    a, b = (Path(arg) for arg in sys.argv[1:3])
    con = duckdb.connect()
    different = 0
    for table, pattern in _tables(a).items():
        try:
            rows_a, columns_a = digest(con, str(a / pattern))
            rows_b, columns_b = digest(con, str(b / pattern))
        except duckdb.IOException:
            print(f"{table:<34} missing in one home")
            different += 1
            continue
        unequal = sorted(
            c for c in columns_a.keys() | columns_b.keys() if columns_a.get(c) != columns_b.get(c)
        )
        status = (
            "equal" if rows_a == rows_b and not unequal else f"DIFFERENT: {', '.join(unequal) or 'row count'}"
        )
        different += status != "equal"
        print(f"{table:<34} {rows_a:>12,} {rows_b:>12,}  {status}")
    print(f"left out everywhere: {', '.join(LEFT_OUT)}")
    sys.exit(1 if different else 0)


if __name__ == "__main__":
    main()
