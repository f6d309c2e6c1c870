"""requirements.lock, the exact versions dev.py installs: every dependency pyproject.toml asks for is pinned there,
at a version the project's own requirement admits (a lock written before a dependency was added or raised fails)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins() -> dict[str, Version]:
    pins = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            pins[_normalized(name)] = Version(version)
    return pins


def test_every_dependency_of_the_project_is_pinned_at_a_version_it_admits() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = [*project["dependencies"], *project["optional-dependencies"]["dev"]]
    pins = _pins()
    assert len(pins) > len(wanted)  # the lock pins the dependencies' dependencies too
    for text in wanted:
        requirement = Requirement(text)
        name = _normalized(requirement.name)
        assert name in pins, f"{requirement.name} is not in requirements.lock: run python3.11 dev.py lock"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"requirements.lock pins {requirement.name} {pins[name]}, outside {requirement.specifier}"
        )
