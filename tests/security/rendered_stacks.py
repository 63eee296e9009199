"""Every object the example stacks' releases render to, from the pinned chart archives, rendered once.

The archives live outside the repository (``../shared/chart-archives``, or ARMFUL_CHART_ARCHIVES_DIR); where
they are absent, or helm-python-sdk is not installed, the tests that need a render skip and say why.
Rendering is what ``plan --render`` does: each release with exactly the values ``pulumi up`` passes to Helm
(deploy-time values as placeholders), in its own namespace, hooks and helm test pods included.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from chart_archives import SDK_REASON, chart_archives

from armful.planning.plan import Plan
from armful.planning.releases import ReleasePlan, render_placeholders
from armful.planning.stack_plan import plan_stack


@dataclass(frozen=True)
class RenderedObject:
    release: ReleasePlan
    body: dict[str, Any]

    @property
    def kind(self) -> str:
        return str(self.body.get("kind"))

    @property
    def name(self) -> str:
        return str(self.body.get("metadata", {}).get("name"))

    @property
    def namespace(self) -> str:
        """Where Helm creates it: the template's own namespace, else the release's."""
        return str(self.body.get("metadata", {}).get("namespace") or self.release.spec.namespace)


@dataclass(frozen=True)
class RenderedStack:
    plan: Plan
    objects: tuple[RenderedObject, ...]

    def of_release(self, release: str) -> Iterator[RenderedObject]:
        return (obj for obj in self.objects if obj.release.spec.release == release)


def render_release(release: ReleasePlan, values: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """One release rendered from its archive, with its planned values unless ``values`` are given."""
    from armful.render.helm import render_chart

    spec = release.spec
    return render_chart(
        chart_archives() / f"{spec.chart}-{spec.version}.tgz",
        spec.version,
        None,
        render_placeholders(release.values) if values is None else values,
        spec.release,
        spec.namespace,
    )


@functools.cache
def _render(stack: str) -> RenderedStack:
    # Called from a test, so conftest's pinned calendar and empty image cache are in force.
    plan = plan_stack(stack=stack)
    objects = tuple(
        RenderedObject(release, body) for release in plan.releases for body in render_release(release)
    )
    return RenderedStack(plan, objects)


def rendered_stack(stack: str) -> RenderedStack:
    """The stack's plan and everything its releases render to (rendered once per test session)."""
    pytest.importorskip("helm_python", reason=SDK_REASON)
    chart_archives()
    return _render(stack)
