"""Shared fixtures; helpers live in modules of their own (example_stacks, pulumi_harness, chart_values)."""

from __future__ import annotations

import pytest
from example_stacks import EXAMPLE_STACKS


@pytest.fixture(params=EXAMPLE_STACKS)
def example_stack(request: pytest.FixtureRequest) -> str:
    return request.param
