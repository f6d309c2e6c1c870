"""Mistakes a new user makes on the command line, and how each is seen and undone: a file whose rows were all
refused (wrong --format) makes materialize exit non-zero with the reason and the way back (forget, ingest again);
a directory with one file that cannot be landed lands nothing; --version."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipelines.app.cli import main
from pipelines.ingest.landing import landed_files


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _canonical_rows(path: Path, count: int) -> Path:
    rows = [
        {"request_id": f"r{i}", "ts": f"2026-11-02T10:{i % 60:02d}:00Z", "endpoint": "chat", "model": "m",
         "input_tokens": 100, "output_tokens": 10}
        for i in range(count)
    ]  # fmt: skip
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


@pytest.mark.slow
def test_a_file_refused_whole_fails_materialize_and_forget_then_ingest_undoes_it(home, tmp_path, capsys):
    data = _canonical_rows(tmp_path / "gateway.jsonl", 30)
    code, out, _ = _run(["ingest", "--format", "litellm", str(data)], capsys)  # the wrong format
    assert code == 0 and "1 new file(s)" in out
    file_id = landed_files(home)[0].file_id

    code, out, err = _run(["materialize"], capsys)
    assert code == 2, (out, err)
    assert "staged: 0 accepted, 30 quarantined" in out
    assert f"nothing of gateway.jsonl ({file_id}) was accepted: all 30 row(s) were quarantined (" in err
    assert f"modeshift forget {file_id}" in err and "modeshift formats litellm" in err
    assert "Traceback" not in err

    code, out, _ = _run(["forget", file_id], capsys)
    assert code == 0 and "forgotten" in out
    code, out, _ = _run(
        ["ingest", "--format", "canonical", str(data)], capsys
    )  # the same bytes, right format
    assert code == 0 and "landed as" in out and "1 new file(s)" in out
    code, out, err = _run(["materialize"], capsys)
    assert code == 0, err
    assert "staged: 30 accepted, 0 quarantined" in out and "nothing of" not in err


def test_a_directory_with_one_file_that_cannot_be_landed_lands_nothing(home, tmp_path, capsys):
    folder = tmp_path / "traces"
    folder.mkdir()
    (folder / "a-code.csv").write_text(
        "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.6805900,374,44\n"
    )
    (folder / "b-notes.jsonl").write_text("{}\n")  # azure-trace reads CSV only
    code, _, err = _run(["ingest", "--format", "azure-trace", "--endpoint", "code", str(folder)], capsys)
    assert code == 2 and "not .jsonl" in err, err
    assert landed_files(home) == []  # a-code.csv, checked first, was not landed either
    (folder / "b-notes.jsonl").unlink()
    code, out, _ = _run(["ingest", "--format", "azure-trace", "--endpoint", "code", str(folder)], capsys)
    assert code == 0 and "1 new file(s)" in out and len(landed_files(home)) == 1


def test_version(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.startswith("modeshift ")


@pytest.mark.parametrize(
    "command", [["report"], ["status"], ["calibrate"], ["whatif", "--endpoint", "e", "--plan", "fixed:1"]]
)
def test_a_command_that_only_reads_never_creates_a_home(tmp_path, monkeypatch, capsys, command):
    elsewhere = tmp_path / "another-folder" / ".modeshift"
    monkeypatch.setenv("MODESHIFT_HOME", str(elsewhere))
    code, _, err = _run(command, capsys)
    assert code == 2 and f"There is no modeshift home at {elsewhere}" in err, err
    assert not elsewhere.exists() and not elsewhere.parent.exists()
