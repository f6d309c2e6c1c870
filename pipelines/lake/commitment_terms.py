"""Commitment terms: the discounts providers give for committing to dedicated capacity for a term, read from a CSV
(``pipelines/config/commitment_terms.csv`` as shipped, or the file ``commitments.terms_file`` points to; see
docs/cost-model.md#commitment-terms).

``load_commitment_terms`` reads and checks the file; ``provider_terms`` returns the terms of the provider the
settings name (``provider.name``), keeping only ``commitments.terms`` when that lists names. Every row carries its
``source`` and ``as_of`` date, and says when its discount is an assumption.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import polars as pl

from pipelines.core.errors import ModeshiftError
from pipelines.core.settings import Settings
from pipelines.domain.commitments import CommitmentTerm
from pipelines.lake.csv_tables import read_checked_csv

COMMITMENT_TERMS_SCHEMA: dict[str, pl.DataType] = {
    "provider": pl.String(),
    "term": pl.String(),
    "term_weeks": pl.Float64(),
    "discount": pl.Float64(),
    "minimum_quantity": pl.Float64(),
    "cancellation": pl.String(),
    "source": pl.String(),
    "as_of": pl.Date(),
}


def load_commitment_terms(path: Path) -> list[CommitmentTerm]:
    """Read and check a commitment terms CSV: every column filled in, one row per provider and term, term_weeks
    > 0, discount in [0, 1), minimum_quantity >= 0; a clear ``ModeshiftError`` names the file and the first
    problem found (durations in weeks, discounts as fractions)."""
    table = read_checked_csv(path, "commitment terms file", COMMITMENT_TERMS_SCHEMA)
    for column in COMMITMENT_TERMS_SCHEMA:
        if table[column].null_count():
            raise ModeshiftError(
                f"The commitment terms file {path} has rows without {column}.", "Every row needs it."
            )
    duplicated = table.filter(pl.struct("provider", "term").is_duplicated())
    if duplicated.height:
        first = duplicated.row(0, named=True)
        raise ModeshiftError(
            f"The commitment terms file {path} lists {first['provider']} {first['term']} more than once.",
            "Keep one row per provider and term.",
        )
    terms = []
    for row in table.select(*COMMITMENT_TERMS_SCHEMA).iter_rows(named=True):
        try:
            terms.append(CommitmentTerm(**row))
        except ValueError as error:
            raise ModeshiftError(
                f"The commitment terms file {path}, {row['provider']} {row['term']}: {error}."
            ) from None
    return terms


def provider_terms(settings: Settings, provider: str | None = None) -> list[CommitmentTerm]:
    """The terms of ``provider`` (default: ``provider.name``), in file order, restricted to ``commitments.terms``
    when it lists names. For the default provider a listed name it does not sell is a ``ModeshiftError`` naming the
    ones it does; a provider chosen per endpoint (``provider.endpoints``) simply offers the listed terms it sells."""
    name = provider or settings.provider.name
    offered = [t for t in load_commitment_terms(settings.commitment_terms_path) if t.provider == name]
    wanted = settings.commitments.terms
    if not wanted:
        return offered
    names = {t.term for t in offered}
    unknown = [term for term in wanted if term not in names]
    if unknown and name == settings.provider.name:
        raise ModeshiftError(
            f"commitments.terms lists {', '.join(unknown)}, which {settings.commitment_terms_path} does not offer "
            f"for provider {name}.",
            f"Terms offered: {', '.join(sorted(names)) or 'none'}.",
        )
    return [t for t in offered if t.term in wanted]


def commitment_terms_fingerprint(path: Path) -> str:
    """A short hash of the commitment terms file, so outputs built from an older file are recomputed."""
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]
