"""The project documents itself: every relative link and every ``docs/<file>.md#anchor`` pointer in the code, the
SQL and the docs resolves to an existing file and heading; no text cites a document or a path outside the
repository; and every column of the weekly tables is specified in docs/metrics.md or docs/cost-model.md, so a new
column without documentation fails here.

Anchors follow GitHub's rule: the heading's text, lowercased, every character that is not a letter, a digit, a space,
a hyphen or an underscore dropped, spaces turned into hyphens, and ``-1``, ``-2`` ... appended to repeated headings.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

import polars as pl
import pytest

from pipelines.domain.concentration import spend_concentration
from pipelines.domain.endpoint_profile import PROFILE_COLUMNS
from pipelines.ingest.validation import LAKE_COLUMNS
from pipelines.weekly.plans import BACKTEST_SCHEMA, CURVE_SCHEMA, RECOMMENDATION_SCHEMA

ROOT = Path(__file__).resolve().parents[1]

# Directories that are not the project's own text: tools' state, the environment, build and benchmark output.
SKIPPED_DIRS = frozenset(
    {
        ".git",
        ".venv",
        "__pycache__",
        ".modeshift",
        ".pytest_cache",
        ".ruff_cache",
        ".hypothesis",
        "build",
        "dist",
    }
)
SKIPPED_PATHS = frozenset({"benchmarks/out"})
# Files that hold code, SQL, settings or documentation (where a pointer or an outside reference could hide).
TEXT_SUFFIXES = frozenset({".py", ".sql", ".md", ".yaml", ".yml", ".toml", ".cfg", ".ini", ".txt", ".cff"})

# ``docs/<file>.md`` optionally followed by ``#anchor``, not as the tail of a longer path.
POINTER = re.compile(r"(?<![\w./-])docs/([\w.-]+\.md)(?:#([\w-]+))?")
# Inline Markdown links and images: [text](target) / ![alt](target "title").
MD_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
FENCE = re.compile(r"^ {0,3}(```|~~~)")
CODE_SPAN = re.compile(r"(`+)(.+?)\1", re.DOTALL)
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# References to documents or places outside the repository. Spelled with character classes so that this file does
# not match itself.
OUTSIDE_REFERENCES = (
    re.compile(r"D[O]MAIN(?:\.md|\s*§|\s+section)"),
    re.compile(r"F[O]RMATS\.md"),
    re.compile(r"\.\./s[h]ared"),
    re.compile(r"s[h]ared/data"),
    re.compile(r"(?<![\w.])/w[o]rk/"),
)


def text_files(root: Path) -> Iterator[Path]:
    """Every project text file under ``root`` (code, SQL, settings, docs), in a stable order."""
    for directory, dirs, files in os.walk(root):
        here = Path(directory).relative_to(root)
        dirs[:] = sorted(
            d
            for d in dirs
            if d not in SKIPPED_DIRS
            and not d.endswith(".egg-info")
            and (here / d).as_posix() not in SKIPPED_PATHS
        )
        for name in sorted(files):
            path = Path(directory) / name
            if path.suffix in TEXT_SUFFIXES:
                yield path


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading (without the ``-N`` suffix of repeated headings)."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link counts by its text
    text = re.sub(r"\\(.)", r"\1", text).replace("`", "")  # escapes and code spans keep their characters
    text = re.sub(r"[^\w\- ]", "", text.strip().lower())
    return text.replace(" ", "-")


def prose_lines(markdown: str) -> Iterator[tuple[int, str]]:
    """(line number, line) of the Markdown outside fenced code blocks."""
    fenced = False
    for number, line in enumerate(markdown.splitlines(), start=1):
        if FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            yield number, line


def anchors_of(markdown: str) -> set[str]:
    """Every heading anchor of a Markdown text, repeated headings numbered as GitHub does."""
    anchors: set[str] = set()
    seen: dict[str, int] = {}
    for _, line in prose_lines(markdown):
        match = HEADING.match(line)
        if not match:
            continue
        base = github_anchor(match.group(2))
        count = seen.get(base, 0)
        seen[base] = count + 1
        anchors.add(base if count == 0 else f"{base}-{count}")
    return anchors


@functools.cache
def _anchors_of_file(path: Path) -> frozenset[str]:
    """``anchors_of`` a Markdown file, read once per test session."""
    return frozenset(anchors_of(path.read_text(encoding="utf-8")))


def _target_problem(root: Path, target: Path, anchor: str | None) -> str | None:
    """Why ``target`` (and ``anchor`` in it) does not resolve inside ``root``; None when it does."""
    resolved = target.resolve()
    if not resolved.is_relative_to(root.resolve()):
        return "points outside the repository"
    if not resolved.exists():
        return "file does not exist"
    if anchor and resolved.suffix == ".md" and anchor not in _anchors_of_file(resolved):
        return f"no heading with anchor #{anchor}"
    return None


def broken_references(root: Path) -> list[str]:
    """Every relative Markdown link and ``docs/*.md#anchor`` pointer under ``root`` that does not resolve, as
    ``path:line: reference (why)``."""
    problems: list[str] = []
    for path in text_files(root):
        text = path.read_text(encoding="utf-8", errors="replace")
        where = path.relative_to(root)
        for number, line in enumerate(text.splitlines(), start=1):
            for match in POINTER.finditer(line):
                problem = _target_problem(root, root / "docs" / match.group(1), match.group(2))
                if problem:
                    problems.append(f"{where}:{number}: {match.group(0)} ({problem})")
        if path.suffix != ".md":
            continue
        for number, line in prose_lines(text):
            for match in MD_LINK.finditer(CODE_SPAN.sub("", line)):
                link = match.group(1)
                if re.match(r"^[a-z][a-z0-9+.-]*:", link, re.IGNORECASE):  # http:, https:, mailto:
                    continue
                file_part, _, anchor = link.partition("#")
                target = path if not file_part else path.parent / file_part
                problem = _target_problem(root, target, anchor or None)
                if problem:
                    problems.append(f"{where}:{number}: ({link}) ({problem})")
    return problems


def outside_references(root: Path) -> list[str]:
    """Every line under ``root`` that cites a document or a path outside the repository, as ``path:line: text``."""
    found = []
    for path in text_files(root):
        text = path.read_text(encoding="utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), start=1):
            if any(pattern.search(line) for pattern in OUTSIDE_REFERENCES):
                found.append(f"{path.relative_to(root)}:{number}: {line.strip()[:120]}")
    return found


def documented_names(markdown: str) -> set[str]:
    """The identifiers written in code (``code spans`` and fenced blocks) of a Markdown text: how a column is
    named in the docs. ``input_tokens_p50/p95`` names input_tokens_p50 only."""
    names: set[str] = set()
    fenced_text = []
    fenced = False
    for line in markdown.splitlines():
        if FENCE.match(line):
            fenced = not fenced
        elif fenced:
            fenced_text.append(line)
    for span in [match.group(2) for match in CODE_SPAN.finditer(markdown)] + fenced_text:
        names.update(IDENTIFIER.findall(span))
    return names


def undocumented(columns: Iterable[str], doc: Path) -> list[str]:
    """The columns that ``doc`` never names in code, in their table order."""
    named = documented_names(doc.read_text(encoding="utf-8"))
    return [column for column in columns if column not in named]


# --- the repository itself -------------------------------------------------------------------------------------


def test_every_link_and_docs_pointer_resolves() -> None:
    assert broken_references(ROOT) == []


def test_code_and_sql_point_into_the_docs() -> None:
    """The domain code, the weekly steps and the SQL cite sections of docs/ (the pointers checked above exist)."""
    pointing = {
        path.relative_to(ROOT).as_posix()
        for path in text_files(ROOT)
        if path.suffix in {".py", ".sql"} and POINTER.search(path.read_text(encoding="utf-8"))
    }
    expected = {
        "pipelines/domain/burstiness.py",
        "pipelines/domain/concentration.py",
        "pipelines/domain/cost_model.py",
        "pipelines/domain/endpoint_profile.py",
        "pipelines/domain/policy.py",
        "pipelines/domain/profile_metrics.py",
        "pipelines/weekly/plans.py",
        "pipelines/weekly/profiles.py",
        "sql/warehouse/create_requests_view.sql",
    }
    assert expected <= pointing


def test_nothing_cites_a_document_or_path_outside_the_repository() -> None:
    assert outside_references(ROOT) == []


def test_every_request_record_column_is_specified() -> None:
    assert undocumented(LAKE_COLUMNS, ROOT / "docs" / "metrics.md") == []


def test_every_endpoint_profile_column_is_specified() -> None:
    assert undocumented(PROFILE_COLUMNS, ROOT / "docs" / "metrics.md") == []


def test_every_spend_concentration_column_is_specified() -> None:
    """Columns as the code produces them: the per-endpoint rows and the weekly summary."""
    rows, summary = spend_concentration(pl.DataFrame({"endpoint": ["a", "b"], "cost_usd": [3.0, 1.0]}))
    columns = ["week_start", *rows.columns, *summary]
    assert undocumented(columns, ROOT / "docs" / "metrics.md") == []


@pytest.mark.parametrize(
    "schema",
    [RECOMMENDATION_SCHEMA, CURVE_SCHEMA, BACKTEST_SCHEMA],
    ids=["recommendations", "plan_curve", "backtest"],
)
def test_every_plan_table_column_is_specified(schema: dict[str, pl.DataType]) -> None:
    assert undocumented(schema, ROOT / "docs" / "cost-model.md") == []


def test_every_class_threshold_is_specified() -> None:
    """Each threshold key of the ``profiles`` and ``policy`` settings is named in the docs with its default."""
    from pipelines.domain.policy import PolicySettings
    from pipelines.domain.profile_metrics import ProfileThresholds

    metrics = (ROOT / "docs" / "metrics.md").read_text(encoding="utf-8")
    cost_model = (ROOT / "docs" / "cost-model.md").read_text(encoding="utf-8")
    for name, default in vars(ProfileThresholds()).items():
        written = re.findall(rf"`{name}` \(([\d.]+)\)", metrics)
        assert written and all(float(value) == default for value in written), (name, default, written)
    for name, default in vars(PolicySettings()).items():
        written = re.findall(rf"\| `{name}` \| ([\d.]+) \|", cost_model)
        assert written and all(float(value) == default for value in written), (name, default, written)


# --- the checks themselves, on a small repository that has every kind of defect --------------------------------


def test_github_anchors() -> None:
    assert github_anchor("Baseline stability") == "baseline-stability"
    assert github_anchor("The price list (rate card)") == "the-price-list-rate-card"
    assert github_anchor("`plan_curve` (one row per endpoint, week and replica count R = 0 .. R_full)") == (
        "plan_curve-one-row-per-endpoint-week-and-replica-count-r--0--r_full"
    )
    assert github_anchor("Checking ourselves: the backtest") == "checking-ourselves-the-backtest"
    assert github_anchor("**R\\*** and [links](x.md)") == "r-and-links"
    assert anchors_of("# A\n## A\n```\n# not a heading\n```\n### A\n") == {"a", "a-1", "a-2"}


def test_checks_find_broken_links_pointers_and_outside_references(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "spec.md").write_text(
        "# Spec\n\n## Burstiness\n\nSee [time](#time), [ok](#burstiness), [gone](missing.md), "
        "[escape](../../outside.md) and [web](https://example.com/x.md#y).\n\n```\n[fenced](nowhere.md)\n```\n"
    )
    docs = "docs" + "/"  # spelled apart so that the repository check does not read these pointers
    (tmp_path / "code.py").write_text(
        f'"""See {docs}spec.md#burstiness, {docs}spec.md#fano and {docs}nothing.md."""\n'
        "# details in the D" + "OMAIN §3 notes, and in /w" + "ork/elsewhere/x.md\n"
    )
    assert broken_references(tmp_path) == [
        f"code.py:1: {docs}spec.md#fano (no heading with anchor #fano)",
        f"code.py:1: {docs}nothing.md (file does not exist)",
        f"{docs}spec.md:5: (#time) (no heading with anchor #time)",
        f"{docs}spec.md:5: (missing.md) (file does not exist)",
        f"{docs}spec.md:5: (../../outside.md) (points outside the repository)",
    ]
    assert [line.split(":")[:2] for line in outside_references(tmp_path)] == [["code.py", "2"]]


def test_column_check_finds_an_undocumented_column(tmp_path: Path) -> None:
    doc = tmp_path / "doc.md"
    doc.write_text(
        "| `requests` | all |\n| `input_tokens_p50/p95` | per request |\n\n```sql\nSELECT fano\n```\n"
    )
    assert undocumented(["requests", "fano", "input_tokens_p50", "input_tokens_p95", "new_metric"], doc) == [
        "input_tokens_p95",
        "new_metric",
    ]
