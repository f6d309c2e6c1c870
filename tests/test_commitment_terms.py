"""The commitment terms file and the ``commitments:`` settings (docs/cost-model.md#commitment-terms): the shipped
rows, the checks that refuse a bad file, the choice of terms, and both as inputs of the weekly outputs."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from pipelines.core.errors import ModeshiftError
from pipelines.core.home import Home
from pipelines.core.settings import Settings, shipped_commitment_terms_path
from pipelines.lake.commitment_terms import load_commitment_terms, provider_terms
from pipelines.lake.lineage import week_fingerprint

HEADER = "provider,term,term_weeks,discount,minimum_quantity,cancellation,source,as_of\n"


def test_the_shipped_terms_carry_their_source_and_say_which_discounts_are_assumed() -> None:
    terms = {(t.provider, t.term): t for t in load_commitment_terms(shipped_commitment_terms_path())}
    assert set(terms) == {("together", "1-month"), ("azure-openai", "1-month"), ("azure-openai", "1-year"),
                          ("bedrock", "6-month")}  # fmt: skip
    assert terms["azure-openai", "1-month"].term_weeks == pytest.approx(52 / 12)
    assert (terms["azure-openai", "1-month"].discount, terms["azure-openai", "1-year"].discount) == (
        0.64,
        0.70,
    )
    for term in terms.values():
        assert term.source and term.as_of is not None and term.cancellation
    for key in (("together", "1-month"), ("bedrock", "6-month")):
        assert "assumption" in terms[key].source
    # the card's Bedrock model-unit price is already the 1-month term's: its discounts are off that price
    assert "already the 1-month term" in terms["bedrock", "6-month"].source


@pytest.mark.parametrize(
    ("row", "problem"),
    [
        ("together,1-month,4.3,1.2,0,none,s,2026-12-01\n", "discount must be a fraction in [0, 1)"),
        ("together,1-month,0,0.1,0,none,s,2026-12-01\n", "term_weeks must be > 0"),
        ("together,1-month,4.3,0.1,0,none,,2026-12-01\n", "rows without source"),
        ("together,1-month,4.3,0.1,0,none,s,2026-12-01\ntogether,1-month,4.3,0.2,0,none,s,2026-12-01\n",
         "lists together 1-month more than once"),
        ("together,1-month,four,0.1,0,none,s,2026-12-01\n", "cannot be read"),
    ],
)  # fmt: skip
def test_a_bad_terms_file_is_one_clear_error(tmp_path: Path, row: str, problem: str) -> None:
    path = tmp_path / "terms.csv"
    path.write_text(HEADER + row)
    with pytest.raises(ModeshiftError, match="commitment terms file") as error:
        load_commitment_terms(path)
    assert problem in str(error.value)


def test_the_provider_and_the_terms_setting_choose_the_terms(home: Home) -> None:
    home.config_file.write_text("provider: {name: azure-openai}\n", encoding="utf-8")
    assert [t.term for t in provider_terms(Settings.load(home))] == ["1-month", "1-year"]
    home.config_file.write_text("provider: {name: azure-openai}\ncommitments: {terms: [1-year]}\n")
    assert [t.term for t in provider_terms(Settings.load(home))] == ["1-year"]
    home.config_file.write_text("commitments: {terms: [1-year]}\n")  # together sells no 1-year term
    with pytest.raises(ModeshiftError, match="does not offer for provider together"):
        provider_terms(Settings.load(home))
    home.config_file.write_text("commitments: {lookback_weeks: 0}\n")
    with pytest.raises(ModeshiftError, match="commitments.lookback_weeks must be >= 1"):
        Settings.load(home)
    home.config_file.write_text("commitments: {terms_file: /nowhere/terms.csv}\n")
    with pytest.raises(ModeshiftError, match="The commitment terms file /nowhere/terms.csv does not exist"):
        Settings.load(home)


def test_the_terms_file_and_the_section_are_inputs_of_the_weekly_outputs(home: Home, tmp_path: Path) -> None:
    def week_part(text: str) -> str:
        home.config_file.write_text(text, encoding="utf-8")
        return week_fingerprint(home, Settings.load(home), date(2026, 11, 2), None)

    default = week_part("")
    assert week_part("commitments: {lookback_weeks: 6}\n") != default
    copy = tmp_path / "terms.csv"
    copy.write_bytes(shipped_commitment_terms_path().read_bytes())
    same_file = week_part(f"commitments: {{terms_file: {copy}}}\n")
    assert same_file != default  # the path is a setting
    copy.write_text(copy.read_text().replace("0.10,", "0.15,", 1))
    assert week_part(f"commitments: {{terms_file: {copy}}}\n") != same_file  # the contents are hashed
