"""The layers point one way, as pyproject.toml's import-linter contracts say: checked here, and shown to
catch the upward imports the contracts exist for."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from example_stacks import ROOT

LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(project: Path, package_parent: Path | None = None) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` in ``project``, with ``armful`` imported from ``package_parent`` when given."""
    env = dict(os.environ)
    if package_parent is not None:
        env["PYTHONPATH"] = str(package_parent)
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=project, capture_output=True, text=True, timeout=120, env=env
    )


pytestmark = pytest.mark.skipif(not LINT_IMPORTS.exists(), reason="import-linter is not installed")


def test_the_layer_contracts_hold() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "2 kept, 0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "upward"),
    [
        ("core/config.py", "armful.addons.registry"),  # the core's config reaching for the add-ons
        ("core/topology.py", "armful.placement.rules"),
        ("placement/values.py", "armful.addons.spec"),  # placement reaching for add-on declarations
        ("addons/falco.py", "armful.planning.releases"),
        ("images/cache.py", "armful.addons.registry"),  # images and add-ons are independent
        ("planning/plan.py", "armful.cli.main"),
        ("planning/releases.py", "pulumi"),  # the pure core never imports Pulumi
    ],
)
def test_an_upward_import_breaks_a_contract(tmp_path: Path, module: str, upward: str) -> None:
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    package = tmp_path / "src" / "armful"
    shutil.copytree(ROOT / "components", package, ignore=shutil.ignore_patterns("__pycache__"))
    with (package / module).open("a") as source:
        source.write(f"\nimport {upward}  # noqa: E402\n")
    result = lint_imports(tmp_path, tmp_path / "src")
    assert result.returncode != 0, result.stdout[-2000:]
    assert "1 broken" in result.stdout
