"""Shared fixtures; helpers live in modules of their own (example_stacks, pulumi_harness, chart_values)."""

from __future__ import annotations

import datetime as dt

import pytest
from example_stacks import EXAMPLE_STACKS

from armful.core import kubernetes_versions


@pytest.fixture(params=EXAMPLE_STACKS)
def example_stack(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(autouse=True)
def _no_user_image_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """``plan`` reads platforms cached by ``readiness``; tests never see the developer's cache."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg-cache")))


# Support for Kubernetes versions is judged on this day, so the suite does not rot as EKS's calendar moves.
PINNED_TODAY = dt.date(2026, 11, 29)


@pytest.fixture(autouse=True)
def _pinned_calendar(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kubernetes_versions, "today", lambda: PINNED_TODAY)
