"""The replica capacity file: weighted tokens/s one replica sustains per model, GPU configuration and request shape
(``pipelines/config/replica_capacity.csv`` as shipped; users point ``replica_capacity`` in config.yaml to their
own). See docs/cost-model.md#replica-capacity-by-request-shape.

``load_replica_capacity`` reads and checks the file; ``endpoint_offer`` gives a model's dedicated offer with K
replaced by the capacity for an endpoint's request shape, and the sentence the reasons quote. Every figure is an
assumption until calibrated (``modeshift calibrate``), and every row says its source.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from pipelines.core.errors import ModeshiftError
from pipelines.domain.cost_model import DedicatedOffer
from pipelines.domain.request_shape import ShapeAnchor, capacity_for_shape, sorted_anchors
from pipelines.lake.csv_tables import read_checked_csv
from pipelines.lake.rate_card import ModelTerms

REPLICA_CAPACITY_SCHEMA: dict[str, pl.DataType] = {
    "model": pl.String(),
    "gpu_type": pl.String(),
    "gpus_per_replica": pl.Int64(),
    "shape": pl.String(),
    "input_tokens": pl.Float64(),
    "output_tokens": pl.Float64(),
    "replica_capacity_tps": pl.Float64(),
    "source": pl.String(),
    "as_of": pl.Date(),
}
ASSUMPTION = "an assumption until calibrated"

# (model, gpu_type, gpus_per_replica): one GPU configuration of one model
ReplicaConfig = tuple[str, str, int]


@dataclass(frozen=True)
class ReplicaCapacityTable:
    """The capacity file, checked: the anchors of each (model, GPU type, GPUs per replica), ordered by sequence
    length, and the file they came from (``path``, for the reasons and the calibration hints)."""

    anchors: dict[ReplicaConfig, tuple[ShapeAnchor, ...]]
    path: Path

    def for_offer(self, model: str | None, offer: DedicatedOffer) -> tuple[ShapeAnchor, ...] | None:
        """The anchors of ``model`` on the offer's GPU configuration; None when the file has none."""
        if model is None:
            return None
        return self.anchors.get((model, offer.gpu_type, offer.gpus_per_replica))


def load_replica_capacity(path: Path) -> ReplicaCapacityTable:
    """Read and check a replica capacity CSV (columns ``REPLICA_CAPACITY_SCHEMA``; tokens per request, capacity in
    weighted tokens/s); a clear ``ModeshiftError`` names the file and the first problem found."""
    table = read_checked_csv(path, "replica capacity file", REPLICA_CAPACITY_SCHEMA)
    for column in REPLICA_CAPACITY_SCHEMA:
        if table[column].null_count():
            raise ModeshiftError(
                f"The replica capacity file {path} has rows without {column}.", "Every row needs it."
            )
    if (table["gpus_per_replica"] < 1).any():
        raise ModeshiftError(f"The replica capacity file {path} has a gpus_per_replica below 1.")
    grouped: dict[ReplicaConfig, list[ShapeAnchor]] = {}
    for row in table.iter_rows(named=True):
        key = (row["model"], row["gpu_type"], int(row["gpus_per_replica"]))
        where = f"{row['model']} on {row['gpus_per_replica']}×{row['gpu_type']}"
        try:
            anchor = ShapeAnchor(
                row["shape"], row["input_tokens"], row["output_tokens"], row["replica_capacity_tps"]
            )
        except ValueError as error:
            raise ModeshiftError(f"The replica capacity file {path}, {where}: {error}.") from None
        grouped.setdefault(key, []).append(anchor)
    anchors: dict[ReplicaConfig, tuple[ShapeAnchor, ...]] = {}
    for key, rows in grouped.items():
        try:
            anchors[key] = sorted_anchors(rows)
        except ValueError as error:
            raise ModeshiftError(
                f"The replica capacity file {path}, {key[0]} on {key[2]}×{key[1]}: {error}.",
                "Each model and GPU configuration needs shapes of distinct lengths whose capacity does not grow "
                "with the length.",
            ) from None
    return ReplicaCapacityTable(anchors, path)


def replica_capacity_fingerprint(path: Path) -> str:
    """A short hash of the capacity file, so outputs built from an older file are recomputed."""
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def _known_shape(input_tokens: float | None, output_tokens: float | None) -> bool:
    if input_tokens is None or output_tokens is None:
        return False
    if not (math.isfinite(input_tokens) and math.isfinite(output_tokens)):
        return False
    return input_tokens >= 0 and output_tokens >= 0 and input_tokens + output_tokens > 0


def endpoint_offer(
    terms: ModelTerms,
    capacity: ReplicaCapacityTable,
    input_tokens_p50: float | None,
    output_tokens_p50: float | None,
) -> tuple[DedicatedOffer | None, str]:
    """The model's dedicated offer for an endpoint whose median request is ``input_tokens_p50`` in and
    ``output_tokens_p50`` out (tokens per request), with ``replica_capacity_tps`` (K, weighted tokens/s) replaced
    by the capacity for that shape (``capacity_for_shape``), and one sentence for the reasons, e.g. "replica
    capacity 129,316 weighted tokens/s for requests of ~900 in / 300 out tokens (between the short_chat and
    balanced anchors of replica_capacity.csv; an assumption until calibrated)".

    The offer is returned unchanged (the rate card's K, the fallback) when the capacity file has no anchors for
    the model on the offer's GPU configuration or the shape is unknown (a median missing, not finite, or both 0);
    the sentence then says so. (None, sentence) when the model has no dedicated offer at all.
    """
    offer = terms.offer
    if offer is None:
        return None, "no dedicated offer for this model on the rate card"
    anchors = capacity.for_offer(terms.model, offer)
    card_sentence = f"replica capacity {offer.replica_capacity_tps:,.0f} weighted tokens/s from the rate card"
    if anchors is None:
        return offer, (
            f"{card_sentence} ({capacity.path.name} has no capacity by request shape for this model on "
            f"{offer.gpus_per_replica}×{offer.gpu_type}; {ASSUMPTION})"
        )
    if not _known_shape(input_tokens_p50, output_tokens_p50):
        return offer, f"{card_sentence} (the endpoint's request shape is unknown; {ASSUMPTION})"
    assert input_tokens_p50 is not None and output_tokens_p50 is not None  # for the type checker
    tps, where = capacity_for_shape(anchors, input_tokens_p50, output_tokens_p50)
    position, _, clamp = where.partition(", ")
    shaped = dataclasses.replace(offer, replica_capacity_tps=tps)
    return shaped, (
        f"replica capacity {tps:,.0f} weighted tokens/s for requests of ~{input_tokens_p50:,.0f} in / "
        f"{output_tokens_p50:,.0f} out tokens ({position} of {capacity.path.name}{', ' + clamp if clamp else ''}; "
        f"{ASSUMPTION})"
    )
