"""The provider profile: how a provider bills and scales dedicated replicas (see
docs/cost-model.md#the-provider-profile).

A small typed record the plan families read: billing granularity, the fewest replicas a running endpoint keeps,
whether it may scale to zero, how long a new replica takes to start, the autoscaler's default windows, what one
"replica" is on this provider (``unit``: a replica, a PTU increment, a model unit) and whether it autoscales at
all. The shipped profiles live in ``pipelines/config/providers.csv``, each with its source and as_of date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

BILLING_GRANULARITIES_MINUTES = (1, 60)


@dataclass(frozen=True)
class ProviderProfile:
    """One provider's dedicated-endpoint terms (durations in minutes).

    * ``billing_granularity_minutes``: 1 = each running replica is billed per minute; 60 = each clock hour is
      billed at the most replicas that ran in it.
    * ``min_replicas_while_running``: the smallest min a running endpoint may have (1 on most providers).
    * ``scale_to_zero``: whether min = 0 is allowed (a replica started from zero waits the cold start).
    * ``cold_start_minutes``: C, minutes from a replica's start (billed) to when it serves.
    * ``scale_up_window_minutes`` / ``scale_down_window_minutes``: W_up / W_down, the autoscaler's defaults.
    * ``unit``: what one modeshift replica is on this provider, in words (``replica``, ``PTU increment``,
      ``model unit``); the reports count plans in it.
    * ``autoscaling``: False when deployments have a fixed size (Azure OpenAI provisioned, Bedrock provisioned
      throughput): the autoscale family is then not offered, fixed and scheduled plans are.
    """

    name: str
    billing_granularity_minutes: int = 1
    min_replicas_while_running: int = 1
    scale_to_zero: bool = False
    cold_start_minutes: int = 5
    scale_up_window_minutes: int = 1
    scale_down_window_minutes: int = 10
    source: str = ""
    as_of: date | None = None
    unit: str = "replica"
    autoscaling: bool = True

    def __post_init__(self) -> None:
        if self.billing_granularity_minutes not in BILLING_GRANULARITIES_MINUTES:
            raise ValueError(
                f"billing_granularity_minutes must be one of {BILLING_GRANULARITIES_MINUTES}, "
                f"got {self.billing_granularity_minutes}"
            )
        if self.min_replicas_while_running < 0:
            raise ValueError(
                f"min_replicas_while_running must be >= 0, got {self.min_replicas_while_running}"
            )
        if self.cold_start_minutes < 0:
            raise ValueError(f"cold_start_minutes must be >= 0, got {self.cold_start_minutes}")
        if self.scale_up_window_minutes < 1 or self.scale_down_window_minutes < 1:
            raise ValueError("the scale-up and scale-down windows must be >= 1 minute")
        if not self.unit.strip():
            raise ValueError("unit must name what one replica is (e.g. replica, PTU increment, model unit)")

    @property
    def lowest_min_replicas(self) -> int:
        """The smallest ``min`` the autoscale grid may try: 0 with scale-to-zero, else the running minimum (>= 1)."""
        return 0 if self.scale_to_zero else max(1, self.min_replicas_while_running)

    def count(self, replicas: int) -> str:
        """``replicas`` in the profile's unit, in words: ``1 replica``, ``3 replicas``, ``6 PTU increments``."""
        return f"{replicas} {self.unit}" + ("" if replicas == 1 else "s")


TOGETHER_DEFAULT = ProviderProfile(name="together")
