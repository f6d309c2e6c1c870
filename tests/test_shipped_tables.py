"""The CSV tables shipped in pipelines/config are well-formed CSV (a strict reader finds the header's field count
on every line, so no reader depends on lenient quote handling) and every row says where its figures come from."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

CONFIG = Path(__file__).resolve().parents[1] / "pipelines" / "config"


@pytest.mark.parametrize("path", sorted(CONFIG.glob("*.csv")), ids=lambda p: p.name)
def test_a_shipped_table_is_strict_csv_with_a_source_and_date_on_every_row(path: Path):
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle, strict=True))
    header, body = rows[0], rows[1:]
    assert body, path
    assert {len(row) for row in body} == {len(header)}, [row[0] for row in body if len(row) != len(header)]
    for column in ("source", "as_of"):
        assert column in header, (path.name, column)
        assert all(row[header.index(column)].strip() for row in body), (path.name, column)
