"""Replica capacity by request shape (see docs/cost-model.md#replica-capacity-by-request-shape).

How many weighted tokens per second one replica sustains depends on the requests it serves: short chats keep a GPU
busy decoding many sequences at once, long prompts spend it on prefill and hold large KV caches. The capacity file
gives a few *anchors* per model and GPU configuration, each a request shape (input and output tokens per request)
with the capacity K measured or read off a benchmark for it, in weighted tokens/s (input = 1, output = the rate
card's output weight w).

An endpoint's own shape (its median input and output tokens per request) is placed on the anchors by its
**sequence length** L = input + output tokens per request, on a logarithmic scale: between two anchors with
L_a < L < L_b,

    t = ln(L / L_a) / ln(L_b / L_a),    K(L) = K_a + t · (K_b − K_a),

and below the shortest (above the longest) anchor K is the shortest (longest) anchor's K: clamped, never
extrapolated. The anchors must not gain capacity as L grows, so K(L) never increases as prompts (or answers) get
longer. Pure functions: no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class ShapeAnchor:
    """One anchor: a request shape (``input_tokens`` and ``output_tokens`` per request) and the weighted tokens/s
    ``capacity_tps`` one replica sustains serving requests of that shape."""

    shape: str
    input_tokens: float
    output_tokens: float
    capacity_tps: float

    def __post_init__(self) -> None:
        if not self.shape:
            raise ValueError("an anchor needs a shape name")
        for name in ("input_tokens", "output_tokens", "capacity_tps"):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0:
                raise ValueError(
                    f"{name} of the {self.shape} anchor must be a finite number >= 0, got {value}"
                )
        if self.input_tokens + self.output_tokens <= 0:
            raise ValueError(f"the {self.shape} anchor has no tokens (input + output must be > 0)")
        if self.capacity_tps <= 0:
            raise ValueError(f"capacity_tps of the {self.shape} anchor must be > 0, got {self.capacity_tps}")

    @property
    def sequence_tokens(self) -> float:
        """L = input + output tokens per request."""
        return self.input_tokens + self.output_tokens


def sorted_anchors(anchors: Sequence[ShapeAnchor]) -> tuple[ShapeAnchor, ...]:
    """``anchors`` ordered by sequence length, checked: at least one, distinct shape names and sequence lengths,
    and capacity never increasing with the sequence length (ValueError naming the offending pair otherwise)."""
    if not anchors:
        raise ValueError("at least one anchor is needed")
    ordered = tuple(sorted(anchors, key=lambda anchor: anchor.sequence_tokens))
    names = [anchor.shape for anchor in ordered]
    if len(set(names)) != len(names):
        raise ValueError(f"shape names must be distinct, got {', '.join(names)}")
    for shorter, longer in zip(ordered, ordered[1:], strict=False):
        if longer.sequence_tokens == shorter.sequence_tokens:
            raise ValueError(
                f"the {shorter.shape} and {longer.shape} anchors have the same sequence length "
                f"({shorter.sequence_tokens:,.0f} tokens)"
            )
        if longer.capacity_tps > shorter.capacity_tps:
            raise ValueError(
                f"the {longer.shape} anchor ({longer.sequence_tokens:,.0f} tokens a request) has more capacity "
                f"({longer.capacity_tps:,.0f}) than the shorter {shorter.shape} anchor ({shorter.capacity_tps:,.0f}); "
                "capacity may not grow with the request's length"
            )
    return ordered


def capacity_for_shape(
    anchors: Sequence[ShapeAnchor], input_tokens: float, output_tokens: float
) -> tuple[float, str]:
    """The weighted tokens/s one replica sustains for requests of ``input_tokens`` in and ``output_tokens`` out
    (per request), interpolated on the anchors in log sequence length (see the module docstring), and where the
    shape lies: ``"at the balanced anchor"``, ``"between the short_chat and balanced anchors"``, ``"below the
    short_chat anchor, clamped to it"`` or ``"beyond the long_context anchor, clamped to it"``.

    Raises ValueError for token counts that are negative, not finite, or both zero, and for invalid anchors.
    """
    ordered = sorted_anchors(anchors)
    if not (math.isfinite(input_tokens) and math.isfinite(output_tokens)):
        raise ValueError(f"token counts must be finite, got {input_tokens} in / {output_tokens} out")
    if input_tokens < 0 or output_tokens < 0 or input_tokens + output_tokens <= 0:
        raise ValueError(
            f"token counts must be >= 0 and not both 0, got {input_tokens} in / {output_tokens} out"
        )
    length = input_tokens + output_tokens
    first, last = ordered[0], ordered[-1]
    for anchor in ordered:
        if length == anchor.sequence_tokens:
            return anchor.capacity_tps, f"at the {anchor.shape} anchor"
    if length < first.sequence_tokens:
        return first.capacity_tps, f"below the {first.shape} anchor, clamped to it"
    if length > last.sequence_tokens:
        return last.capacity_tps, f"beyond the {last.shape} anchor, clamped to it"
    for shorter, longer in zip(ordered, ordered[1:], strict=False):
        if shorter.sequence_tokens < length < longer.sequence_tokens:
            t = math.log(length / shorter.sequence_tokens) / math.log(
                longer.sequence_tokens / shorter.sequence_tokens
            )
            capacity = shorter.capacity_tps + t * (longer.capacity_tps - shorter.capacity_tps)
            # rounding may not step outside the pair's interval
            capacity = min(shorter.capacity_tps, max(longer.capacity_tps, capacity))
            return capacity, f"between the {shorter.shape} and {longer.shape} anchors"
    raise AssertionError("unreachable: the length lies within the anchors")  # pragma: no cover
