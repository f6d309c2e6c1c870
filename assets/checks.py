"""Blocking asset checks declared and reported the same way by every asset: a failed check stops the run."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dagster import AssetCheckResult, AssetCheckSeverity, AssetCheckSpec


def blocking_checks(asset_name: str, descriptions: Mapping[str, str]) -> list[AssetCheckSpec]:
    """One blocking check spec per ``{check name: what it asserts}`` on the asset ``asset_name``."""
    return [
        AssetCheckSpec(name, asset=asset_name, blocking=True, description=description)
        for name, description in descriptions.items()
    ]


def check_result(name: str, passed: bool, metadata: Mapping[str, Any] | None = None) -> AssetCheckResult:
    """The outcome of the blocking check ``name`` (an ERROR when it failed), with what it measured."""
    return AssetCheckResult(
        check_name=name, passed=passed, severity=AssetCheckSeverity.ERROR, metadata=dict(metadata or {})
    )
