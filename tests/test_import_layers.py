"""The import rule is checked by import-linter (``lint-imports``, run by ``dev.py test``): here it passes on the
repository and fails, naming the import, when a module imports a layer above it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def _copy_project(target: Path) -> Path:
    for name in ("pipelines", "assets", "sql"):
        shutil.copytree(ROOT / name, target / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", target / "pyproject.toml")
    return target


def _lint(project: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=project,
        env={"PYTHONPATH": str(project), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_repository_keeps_every_contract(tmp_path: Path) -> None:
    result = _lint(_copy_project(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_an_upward_import_fails_naming_it(tmp_path: Path) -> None:
    project = _copy_project(tmp_path)
    calendar = project / "pipelines" / "core" / "calendar.py"
    calendar.write_text(
        calendar.read_text() + "\nfrom pipelines.weekly.plans import compute_week_plans  # noqa\n"
    )
    result = _lint(project)
    assert result.returncode != 0
    assert "BROKEN" in result.stdout
    assert "pipelines.core.calendar -> pipelines.weekly.plans" in result.stdout


def test_the_domain_importing_dagster_fails(tmp_path: Path) -> None:
    project = _copy_project(tmp_path)
    histogram = project / "pipelines" / "domain" / "histogram.py"
    histogram.write_text(histogram.read_text() + "\nimport dagster  # noqa\n")
    result = _lint(project)
    assert result.returncode != 0
    assert "pipelines.domain.histogram -> dagster" in result.stdout


def test_only_the_composition_root_imports_assets(tmp_path: Path) -> None:
    project = _copy_project(tmp_path)
    cli = project / "pipelines" / "app" / "cli.py"
    cli.write_text(cli.read_text() + "\nimport assets.ingest  # noqa\n")
    result = _lint(project)
    assert result.returncode != 0
    assert "pipelines.app.cli -> assets.ingest" in result.stdout
