"""Shared fixtures: the example stacks and the charts' default values (design §3, §8)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
STACKS_DIR = ROOT / "stacks"
EXAMPLE_STACKS = ("arm-workers", "all-arm", "mixed")


def stack_file_config(stack: str) -> dict:
    return yaml.safe_load((STACKS_DIR / f"Pulumi.{stack}.yaml").read_text())["config"]


@pytest.fixture(params=EXAMPLE_STACKS)
def example_stack(request: pytest.FixtureRequest) -> str:
    return request.param


def charts_dir() -> Path:
    """The pinned charts' default values: ARMFUL_CHARTS_DIR, else ../shared/charts beside the repo."""
    return Path(os.environ.get("ARMFUL_CHARTS_DIR", ROOT.parent / "shared" / "charts"))
