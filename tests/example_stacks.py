"""The example stacks in stacks/, read as a test needs them."""

from __future__ import annotations

import runpy
from pathlib import Path
from typing import Any

import yaml
from pulumi_harness import RecordingMocks, run_program

ROOT = Path(__file__).resolve().parents[1]
STACKS_DIR = ROOT / "stacks"
EXAMPLE_STACKS = ("arm-workers", "all-arm", "mixed")
# What `pulumi config set --secret armful:grafanaAdminPassword` gives the program.
GRAFANA_PASSWORD = "test-only-grafana-password"
SECRET_KEYS = ("armful:grafanaAdminPassword",)


def stack_file_config(stack: str) -> dict[str, Any]:
    return yaml.safe_load((STACKS_DIR / f"Pulumi.{stack}.yaml").read_text())["config"]


def run_stack_program(stack: str, mocks: RecordingMocks | None = None) -> RecordingMocks:
    """Run the real ``__main__.py`` for an example stack under mocks, secrets set as a user would."""
    config = {**stack_file_config(stack), "armful:grafanaAdminPassword": GRAFANA_PASSWORD}
    return run_program(
        lambda: runpy.run_path(str(ROOT / "__main__.py")), config, mocks, stack=stack, secret_keys=SECRET_KEYS
    )
