"""kyverno-policies 3.9.0 rendered with Armful's values: the user's Audit or Enforce reaches every policy with
the failure policy Armful chose for it, and Enforce's node-agent exclusions reach the policies' conditions."""

from __future__ import annotations

from typing import Any

from rendered_stacks import render_release, rendered_stack

from armful.addons import kyverno_policies
from armful.addons.context import AddonContext
from armful.core.values_tree import deep_merge
from armful.planning.releases import render_placeholders

STACK = "arm-workers"


def policies(objects: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {body["metadata"]["name"]: body["spec"] for body in objects if body["kind"] == "ValidatingPolicy"}


def test_audit_reports_and_never_blocks_a_pod_while_kyverno_is_down() -> None:
    rendered = rendered_stack(STACK)
    specs = policies([obj.body for obj in rendered.of_release("kyverno-policies")])
    assert set(specs) == set(kyverno_policies.BASELINE_POLICIES)
    for name, spec in specs.items():
        assert spec["validationActions"] == ["Audit"], name
        assert spec["failurePolicy"] == "Ignore", name


def test_enforce_denies_fails_closed_and_excludes_only_the_agents() -> None:
    rendered = rendered_stack(STACK)
    release = next(r for r in rendered.plan.releases if r.spec.release == "kyverno-policies")
    context = AddonContext(
        pools=rendered.plan.pools,
        cluster_name="enforced",
        region="us-west-2",
        options=kyverno_policies.KyvernoPoliciesOptions(validation_failure_action="Enforce"),
        enabled_addons=tuple(r.spec for r in rendered.plan.releases),
    )
    values = deep_merge(render_placeholders(release.values), kyverno_policies.SPEC.values(context))
    specs = policies(render_release(release, values))
    for name, spec in specs.items():
        assert spec["validationActions"] == ["Deny"], name
        assert spec["failurePolicy"] == "Fail", name
    conditions = {
        name: {
            c["name"] for c in spec.get("matchConditions") or () if c["name"].startswith("armful-exclude-")
        }
        for name, spec in specs.items()
    }
    # The collector's agent is excluded by its own pod labels even in gateway mode, where none runs.
    assert conditions["disallow-host-path"] == {
        "armful-exclude-opentelemetry-collector-agent",
        "armful-exclude-falco",
        "armful-exclude-node-exporter",
        "armful-exclude-fluent-bit",
    }
    assert conditions["disallow-privileged-containers"] == set()
    assert conditions["restrict-seccomp"] == set()
