"""Privacy: prompt text and raw API keys never reach any file under MODESHIFT_HOME, Dagster's event log included."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from pipelines.app.runner import materialize_pending
from pipelines.ingest.landing import land_file


def _files_containing(root: Path, needles: list[bytes]) -> list[str]:
    found = []
    for path in root.rglob("*"):
        if not path.is_file():
            continue
        data = path.read_bytes()
        if data[:2] == b"\x1f\x8b":
            try:
                data = gzip.decompress(data)
            except (OSError, EOFError):
                pass
        if any(needle in data for needle in needles):
            found.append(str(path.relative_to(root)))
    return found


def test_the_built_home_holds_no_prompt_text(built_home):
    # The fixture's source rows all carry a prompt with this canary; the whole pipeline ran on them.
    assert _files_containing(built_home.root, [b"PROMPT-CANARY-9d1"]) == []


def test_canaries_in_prompts_completions_and_keys_never_stored(home, tmp_path):
    rows = [
        {
            "request_id": f"r{i}",
            "ts": f"2026-11-02T10:{i:02d}:00Z",
            "endpoint": "e",
            "model": "meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo",
            "input_tokens": 10,
            "output_tokens": 5,
            "prompt": "CANARY-PROMPT-41",
            "completion": "CANARY-COMPLETION-41",
            "api_key": "sk-CANARY-KEY-41",
        }
        for i in range(30)
    ]
    rows.append({"ts": "garbage", "prompt": "CANARY-PROMPT-41", "api_key": "sk-CANARY-KEY-41"})  # quarantined
    path = tmp_path / "logs.jsonl.gz"
    path.write_bytes(gzip.compress("".join(json.dumps(r) + "\n" for r in rows).encode()))
    land_file(home, path, "canonical", {})
    materialize_pending(home, progress=lambda _: None)
    assert (home.dagster_home / "history").exists() or any(home.dagster_home.rglob("*.db"))
    assert (
        _files_containing(home.root, [b"CANARY-PROMPT-41", b"CANARY-COMPLETION-41", b"CANARY-KEY-41"]) == []
    )
