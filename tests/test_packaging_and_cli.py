"""Packaging (SQL files inside the wheel) and the modeshift command line (clear errors, exit codes)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from pipelines.app.cli import main

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_sql_files_load_from_an_installed_wheel(tmp_path):
    source = tmp_path / "source"  # build from a copy, so the checkout gets no build/ or egg-info
    shutil.copytree(
        ROOT,
        source,
        ignore=shutil.ignore_patterns(
            ".git", ".venv", ".modeshift", "build", "*.egg-info", "out", "__pycache__"
        ),
    )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(tmp_path),
            str(source),
        ],
        check=True,
        capture_output=True,
    )
    wheel = next(tmp_path.glob("modeshift-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    shipped_sql = {n for n in names if n.startswith("sql/") and n.endswith(".sql")}
    assert shipped_sql == {p.relative_to(ROOT).as_posix() for p in (ROOT / "sql").rglob("*.sql")}
    assert len(shipped_sql) > 30
    assert "pipelines/config/rate_card.csv" in names
    assert "pipelines/config/replica_capacity.csv" in names and "pipelines/config/providers.csv" in names
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    probe = (
        "import pipelines.core.sql_loader as s, sql; "
        f"assert sql.__file__.startswith({str(site)!r}), sql.__file__; "
        "print(len(s.load_sql('ingest/merge_day')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=tmp_path,
        env={"PYTHONPATH": str(site)},
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    assert int(out.stdout) > 100


def _run_cli(args: list[str], capsys) -> tuple[int, str, str]:
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_ingest_refuses_an_unknown_file_type_in_one_sentence(home, tmp_path, capsys):
    path = tmp_path / "log.txt"
    path.write_text("x")
    code, _, err = _run_cli(["ingest", "--format", "canonical", str(path)], capsys)
    assert code == 2
    assert err.startswith("modeshift: error: Cannot tell the file type of log.txt.")
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_ingest_refuses_a_missing_path_and_bad_yaml(home, tmp_path, capsys):
    code, _, err = _run_cli(["ingest", "--format", "canonical", str(tmp_path / "nope.jsonl")], capsys)
    assert code == 2 and "does not exist" in err
    data = tmp_path / "a.jsonl"
    data.write_text("{}\n")
    mapping = tmp_path / "m.yaml"
    mapping.write_text("columns: [unclosed\n")
    code, _, err = _run_cli(["ingest", "--format", "mapped", "--mapping", str(mapping), str(data)], capsys)
    assert code == 2 and "not valid YAML" in err


def test_a_bad_config_file_is_one_clear_sentence(home, tmp_path, capsys):
    home.config_file.write_text("policy: {min_savings_usd_per_week: 10\n")
    data = tmp_path / "a.jsonl"
    data.write_text(json.dumps({"ts": "2026-11-02T00:00:00Z"}) + "\n")
    _run_cli(["ingest", "--format", "canonical", str(data)], capsys)
    code, _, err = _run_cli(["materialize", "--quiet"], capsys)
    assert code != 0
    assert "config.yaml is not valid YAML" in err
    assert "Traceback" not in err


def test_ingest_then_materialize_from_the_command_line(home, tmp_path, capsys):
    data = tmp_path / "a.jsonl"
    data.write_text(
        json.dumps(
            {
                "ts": "2026-11-02T00:00:00Z",
                "endpoint": "e",
                "model": "m",
                "input_tokens": 1,
                "output_tokens": 2,
            }
        )
        + "\n"
    )
    code, out, _ = _run_cli(["ingest", "--format", "canonical", str(data)], capsys)
    assert code == 0 and "1 new file(s)" in out
    code, out, _ = _run_cli(["ingest", "--format", "canonical", str(data)], capsys)
    assert code == 0 and "already landed" in out and "0 new file(s)" in out
    code, out, _ = _run_cli(["materialize"], capsys)
    assert code == 0
    assert "[day 1/1] 2026-11-02" in out and str(home.warehouse) in out
    code, out, _ = _run_cli(["status"], capsys)
    assert "pending:   0 day(s)" in out
