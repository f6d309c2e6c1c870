"""The project documents itself: every relative link and every ``docs/<file>.md#anchor`` pointer in the code, the
SQL and the docs resolves to an existing file and heading; no text cites a document or a path outside the
repository; every column of the weekly tables is specified in docs/metrics.md or docs/cost-model.md, so a new
column without documentation fails here; and the docs' worked examples are what the code computes.

Anchors follow GitHub's rule: the heading's text, lowercased, every character that is not a letter, a digit, a space,
a hyphen or an underscore dropped, spaces turned into hyphens, and ``-1``, ``-2`` ... appended to repeated headings.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from pipelines.domain.burstiness import goh_barabasi_b, kim_jo_an
from pipelines.domain.concentration import spend_concentration
from pipelines.domain.cost_model import DedicatedOffer, plan_curve, serverless_cost_usd, weighted_demand_tps
from pipelines.domain.endpoint_profile import PROFILE_COLUMNS
from pipelines.domain.histogram import bucket_of, bucket_value, histogram_percentile
from pipelines.domain.policy import Decision, EndpointWeekInput, PolicySettings, cost_of_plan, decide
from pipelines.domain.profile_metrics import (
    ProfileThresholds,
    burst_reason,
    classify,
    dense_minutes,
    scale_and_stability,
)
from pipelines.ingest.validation import LAKE_COLUMNS
from pipelines.weekly.commitments import COMMITMENTS_SCHEMA
from pipelines.weekly.plans import (
    BACKTEST_SCHEMA,
    CURVE_SCHEMA,
    OPTIONS_SCHEMA,
    RECOMMENDATION_SCHEMA,
    SLO_STATUS_SCHEMA,
)
from pipelines.weekly.pools import POOL_SCHEMA

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
    [
        RECOMMENDATION_SCHEMA,
        CURVE_SCHEMA,
        OPTIONS_SCHEMA,
        BACKTEST_SCHEMA,
        SLO_STATUS_SCHEMA,
        POOL_SCHEMA,
        COMMITMENTS_SCHEMA,
    ],  # fmt: skip
    ids=[
        "recommendations",
        "plan_curve",
        "plan_options",
        "backtest",
        "slo_status",
        "pool_recommendations",
        "commitments",
    ],  # fmt: skip
)
def test_every_plan_table_column_is_specified(schema: dict[str, pl.DataType]) -> None:
    assert undocumented(schema, ROOT / "docs" / "cost-model.md") == []


def test_every_class_threshold_is_specified() -> None:
    """Each threshold key of the ``profiles`` and ``policy`` settings is named in the docs with its default."""
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


# --- the worked examples of the docs are what the code computes --------------------------------------------------


def _prose(doc: str) -> str:
    """A doc's text with every run of whitespace (line breaks included) as one space."""
    return re.sub(r"\s+", " ", (ROOT / "docs" / doc).read_text(encoding="utf-8"))


def _hourly_frame(day: date, hourly: list[tuple[int, int]]) -> pl.DataFrame:
    """Sparse minute rows of endpoint ``e``: (requests, tokens) in the first minute of each hour of ``day``."""
    start = datetime.combine(day, datetime.min.time(), tzinfo=UTC)
    return pl.DataFrame(
        {
            "endpoint": ["e"] * len(hourly),
            "minute": [start + timedelta(hours=hour) for hour in range(len(hourly))],
            "requests": [requests for requests, _ in hourly],
            "tokens": [tokens for _, tokens in hourly],
        },
        schema={
            "endpoint": pl.String,
            "minute": pl.Datetime("us", "UTC"),
            "requests": pl.Int64,
            "tokens": pl.Int64,
        },
    )


def _profile(minutes: pl.DataFrame, covered: list[date]) -> dict[str, Any]:
    """scale_and_stability of endpoint ``e``, classified with the default thresholds (no latency signal)."""
    profile = scale_and_stability(dense_minutes(minutes, covered), covered).with_columns(
        burstiness_an=pl.lit(None, dtype=pl.Float64),
        interactive_share=pl.lit(0.0),
        offline_share=pl.lit(0.0),
        signal_coverage=pl.lit(0.0),
    )
    return classify(profile, ProfileThresholds()).row(0, named=True)


def test_metrics_worked_examples_match_the_code() -> None:
    doc = _prose("metrics.md")
    monday = date(2026, 11, 9)
    week = [monday + timedelta(days=offset) for offset in range(7)]

    # Time: 7.2 M tokens over 5 covered days.
    five_days = _profile(_hourly_frame(monday, [(1, 7_200_000)]), week[:5])
    assert f"`mean_tps` = 7,200,000 / (5 × 86,400) = {five_days['mean_tps']:.1f} tokens/s" in doc

    # Scale: 1,000 tokens in each of 5,040 minutes (the first half of the week).
    start = datetime.combine(monday, datetime.min.time(), tzinfo=UTC)
    half = pl.DataFrame(
        {
            "endpoint": "e",
            "minute": [start + timedelta(minutes=m) for m in range(5_040)],
            "requests": 1,
            "tokens": 1_000,
        },
        schema={
            "endpoint": pl.String,
            "minute": pl.Datetime("us", "UTC"),
            "requests": pl.Int64,
            "tokens": pl.Int64,
        },
    )
    scale = _profile(half, week)
    assert (
        f"`tokens_per_day` = {scale['tokens_per_day']:,.0f}, `mean_tps` = 5.04 M / 604,800 s = "
        f"{scale['mean_tps']:.2f} tokens/s, `peak_tps` = 1,000 / 60 = {scale['peak_tps']:.1f} tokens/s and "
        f"`p95_tps` = `p99_tps` = {scale['p95_tps']:.1f} tokens/s"
    ) in doc
    assert scale["p95_tps"] == scale["p99_tps"] == scale["peak_tps"]

    # Baseline stability: a one-day week, 8 hours of 100 tokens and 16 of 1,000.
    day = _profile(_hourly_frame(monday, [(1, 100)] * 8 + [(1, 1_000)] * 16), week[:1])
    assert f"`baseline_tph` = {day['baseline_tph']:.0f}" in doc
    assert f"`baseline_ratio` = 100 / 1,000 = {day['baseline_ratio']:.1f}" in doc
    assert f"`hourly_cv` = {day['hourly_cv']:.2f}" in doc
    assert f"`active_hour_share` = {day['active_hour_share']:.1f}" in doc
    assert f"The [stability class](#stability-class) is `{day['stability_class']}`" in doc

    # Fano: 1,440 requests in one minute of a one-day week, then one per minute.
    clumped = _profile(_hourly_frame(monday, [(1_440, 1_440)]), week[:1])
    spread = pl.DataFrame(
        {
            "endpoint": "e",
            "minute": [start + timedelta(minutes=m) for m in range(1_440)],
            "requests": 1,
            "tokens": 1,
        },
        schema={
            "endpoint": pl.String,
            "minute": pl.Datetime("us", "UTC"),
            "requests": pl.Int64,
            "tokens": pl.Int64,
        },
    )
    assert (
        f"`fano` = {clumped['fano']:,.0f}. The same requests one per minute give var(r) = 0: `fano` = " in doc
    )
    assert _profile(spread, week[:1])["fano"] == 0

    # Burstiness: gaps 1, 1, 1, 1, 16 s between 6 requests.
    gaps = np.array([1.0, 1.0, 1.0, 1.0, 16.0])
    b, a_n = goh_barabasi_b(gaps.mean(), gaps.std()), kim_jo_an(gaps.mean(), gaps.std(), 6)
    assert f"B = (6 − 4) / (6 + 4) = {b:.1f}" in doc
    assert f"= {a_n:.2f}: bursty by the [burst class](#burst-class) rule" in doc and a_n >= 0.3

    # Per-request percentiles from the histogram.
    values = [100, 200, 300, 400, 5_000]
    hist = pl.DataFrame({"bucket": bucket_of(values), "n": [1] * len(values)})
    p50 = histogram_percentile(hist, by=[], q=0.5)["value"][0]
    p95 = histogram_percentile(hist, by=[], q=0.95)["value"][0]
    assert f"falls in bucket 1,024 + ⌊ln(4.883) / 0.00995⌋ = {int(bucket_of([5_000])[0]):,}" in doc
    assert f"represented by {float(bucket_value(bucket_of([5_000]))[0]):,.1f}" in doc
    assert f"`output_tokens_p50` sits at h = 2: exactly {p50:.0f}" in doc
    assert f"= {p95:,.1f} (the exact value would be 4,080)" in doc

    # Spend concentration: a $50, b $30, c $20, d unpriced.
    costs = pl.DataFrame({"endpoint": ["a", "b", "c", "d"], "cost_usd": [50.0, 30.0, 20.0, None]})
    rows, summary = spend_concentration(costs)
    assert rows["share"].to_list() == [0.5, 0.3, 0.2] and rows["in_top_80"].to_list() == [True, True, False]
    assert f"`top_k_80` = {summary['top_k_80']} (a and b are `in_top_80`)" in doc
    assert f"`hhi` = 0.25 + 0.09 + 0.04 = {summary['hhi']:.2f}" in doc
    assert f"(3 · 100) = {summary['gini']:.1f}; `total_cost_usd` = {summary['total_cost_usd']:.0f}" in doc
    assert f"`unpriced` = `{', '.join(summary['unpriced'])}`" in doc


def _flat_week(input_tokens: float, output_tokens: float) -> tuple[np.ndarray, np.ndarray]:
    """Weighted demand and serverless cost of a full week with the same tokens every minute (70B card, w = 6)."""
    minutes = 7 * 1_440
    tokens_in, tokens_out = np.full(minutes, input_tokens), np.full(minutes, output_tokens)
    return weighted_demand_tps(tokens_in, tokens_out, 6.0), serverless_cost_usd(
        tokens_in, tokens_out, 0.88, 0.88
    )


def test_cost_model_worked_examples_match_the_code() -> None:
    doc = _prose("cost-model.md")
    offer = DedicatedOffer(
        "H100-80GB", gpus_per_replica=2, usd_per_gpu_hour=5.49, replica_capacity_tps=12_000.0
    )
    demand, cost = _flat_week(300_000, 60_000)
    curve = plan_curve(demand, cost, offer, covered_hours=168.0)
    assert (curve.r_star, curve.r_full, curve.mode) == (1, 2, "hybrid")
    assert f"{demand[0]:,.0f} weighted tokens/s, S_m = ${cost[0]:.4f}" in doc
    assert (
        f"| 0 | $0 | ${curve.overflow_cost_usd[0]:,.2f} | ${curve.total_cost_usd[0]:,.2f} | NULL | 1.0 |"
        in doc
    )
    assert (
        f"| 1 | ${curve.reserved_cost_usd[1]:,.2f} | (1 − 9,600/11,000) × ${cost.sum():,.2f} = "
        f"${curve.overflow_cost_usd[1]:,.2f} | **${curve.total_cost_usd[1]:,.2f}** | {curve.utilization[1]:.2f} | "
        f"{curve.overflow_share[1]:.3f} |"
    ) in doc
    assert (
        f"| 2 = R_full | ${curve.reserved_cost_usd[2]:,.2f} | $0 | ${curve.total_cost_usd[2]:,.2f} | "
        f"{curve.utilization[2]:.3f} | 0 |"
    ) in doc

    def week_decision(history: list[str | None]) -> Decision:
        return decide(
            EndpointWeekInput(
                endpoint="chat", model="70b", week_start=date(2026, 11, 9), current_mode="serverless",
                latency_class="interactive", coverage_days=7, covered_hours=168.0,
                serverless_cost_usd=float(cost.sum()), curve=curve, batch_discount=0.5,
                history_raw_modes=history, stability_class="steady", baseline_ratio=1.0,
                burst_class="smooth", peak_to_mean=1.0,
                burst_reason=burst_reason("smooth", 0.05, 1.0, 1.0, ProfileThresholds()),
            ),
            PolicySettings(),
        )  # fmt: skip

    first, second = week_decision([]), week_decision(["hybrid"])
    threshold = max(50.0, 0.10 * float(cost.sum()))
    assert f"needs a saving of max($50, ${threshold:,.2f}) = ${threshold:,.2f} a week" in doc
    assert (first.action, first.confidence, first.savings_usd) == ("hold", "low", 0.0)
    for reason in (*first.reasons[:3], "held: needs 2 weeks in a row, seen 1"):
        assert f"`{reason}`" in doc, reason
    assert "held: needs 2 weeks in a row, seen 1" in first.reasons
    assert (second.action, second.recommended_mode, second.replicas, second.confidence) == (
        "migrate", "hybrid", 1, "high"
    )  # fmt: skip
    assert (
        f"`recommended_cost_usd` = ${second.recommended_cost_usd:,.2f}, `savings_usd` = ${second.savings_usd:,.2f}, "
        f"`savings_pct` = {second.savings_pct:.3f}, `utilization` = {second.utilization:.2f}, "
        f"`overflow_share` = {second.overflow_share:.3f}"
    ) in doc
    assert (
        f"`batch_upper_bound_savings_usd` = ${cost.sum():,.2f} − ${second.batch_upper_bound_savings_usd:,.2f}"
        in doc
    )

    # The backtest: last week's 1 replica on a week of twice the traffic.
    doubled_demand, doubled_cost = _flat_week(600_000, 120_000)
    plan = cost_of_plan("hybrid", 1, doubled_demand, doubled_cost, offer, 168.0, 0.5)
    hindsight = plan_curve(doubled_demand, doubled_cost, offer, 168.0)
    best = float(hindsight.total_cost_usd[hindsight.r_star])
    assert (hindsight.r_star, hindsight.r_full) == (2, 3)
    assert (
        f"= ${plan:,.2f}, while the best plan in hindsight is 2 replicas (R_full = 3) at ${best:,.2f}" in doc
    )
    assert f"`regret_usd` = ${plan - best:,.2f}, `regret_pct` = {(plan - best) / best:.3f}" in doc
