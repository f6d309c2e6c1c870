"""``modeshift formats``: every format is described, and the options it lists are exactly those its validation
does not refuse."""

from __future__ import annotations

import pytest

from pipelines.app.cli import main
from pipelines.core.errors import ModeshiftError
from pipelines.ingest.formats.options import OPTION_KEYS
from pipelines.ingest.formats.records import kind_of
from pipelines.ingest.formats.registry import FORMAT_NAMES, describe_formats, validate_options

# A value each option can take when a format accepts it (the mapping is the smallest valid mapping file).
_VALUES = {
    "endpoint": "chat",
    "model": "some-model",
    "anchor": "2026-11-02T00:00:00Z",
    "ts_unit": "s",
    "mapping": {"columns": {c: c for c in ("ts", "endpoint", "model", "input_tokens", "output_tokens")}},
    "endpoint_attribute": "http.route",
    "endpoint_by": "model",
}
_SUFFIX = {"jsonl": ".jsonl", "csv": ".csv", "parquet": ".parquet"}


def test_every_format_is_described_once_with_its_kinds_and_a_summary():
    described = describe_formats()
    assert [d.name for d in described] == list(FORMAT_NAMES)
    for d in described:
        assert d.kinds and d.summary and not d.summary.startswith(d.name + ":"), d


@pytest.mark.parametrize("name", FORMAT_NAMES)
def test_listed_options_are_exactly_the_ones_not_refused(name):
    described = {d.name: d for d in describe_formats()}[name]
    suffix = _SUFFIX[described.kinds[0]]
    assert kind_of(suffix) == described.kinds[0]
    needed = {required: _VALUES[required] for required in described.required_options}
    for key in OPTION_KEYS:
        try:
            validate_options(name, suffix, needed | {key: _VALUES[key]})
            refused = None
        except ModeshiftError as error:
            refused = str(error)
        if key in described.options:
            assert refused is None or "does not take" not in refused, (key, refused)
        else:
            assert refused is not None and "does not take" in refused, (key, refused)
    for required in described.required_options:  # needed: a file without it is refused
        assert required in described.options
        with pytest.raises(ModeshiftError):
            validate_options(
                name,
                suffix,
                {k: v for k, v in _VALUES.items() if k in described.required_options and k != required},
            )


def test_the_command_prints_one_format_or_all(capsys):
    assert main(["formats", "helicone"]) == 0
    one = capsys.readouterr().out
    assert (
        one.startswith("helicone (jsonl, csv)") and "prompt_cache_read_tokens" in one and "--endpoint" in one
    )
    assert main(["formats", "burstgpt"]) == 0
    assert "--anchor (needed)" in capsys.readouterr().out
    assert main(["formats"]) == 0
    every = capsys.readouterr().out
    assert all(f"\n{name} (" in "\n" + every for name in FORMAT_NAMES)
