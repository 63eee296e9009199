"""The rendered stacks every network policy proof runs on (``netpol_render``)."""

from __future__ import annotations

import pytest
from example_stacks import EXAMPLE_STACKS
from netpol_render import EVERY_OPTION, RenderedStack, rendered_stack


@pytest.fixture(params=[*EXAMPLE_STACKS, EVERY_OPTION])
def rendered(request: pytest.FixtureRequest) -> RenderedStack:
    return rendered_stack(request.param)
