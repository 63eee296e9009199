"""kyverno-policies: the Pod Security Standards (baseline) as Kyverno policies, audited or enforced.

Chart facts for 3.9.0 that shape this module:
- The default ``policyType`` is ``ValidatingPolicy`` (CEL, policies.kyverno.io). For that type
  ``policyExclude`` and ``policyPreconditions`` are ignored: exclusions go in ``vpolExclude`` (all policies)
  or ``vpolExcludeByPolicy.<policy>`` (replaces ``vpolExclude`` for that policy). Each takes
  ``excludeNamespaces``, ``excludeSubjects``, ``excludeResourceRules`` and raw CEL ``matchConditions``.
- Kyverno autogenerates each pod policy for pod controllers and rewrites ``object.metadata`` to the pod
  template's, so one label condition excludes the DaemonSet and its pods alike.
- The chart creates no Job, hook or pod of its own: no workloads.
- ``kube-system`` needs no exclusion: Kyverno's webhooks skip it (``config.webhooks.namespaceSelector``
  of the kyverno chart), and these policies do not opt in to ValidatingAdmissionPolicy generation.

These policies are the user's choice of Audit or Enforce over the whole cluster (the user's namespaces
above all); the namespaces Armful creates also carry Pod Security Admission labels (``namespaces``).

With ``Enforce``, the baseline policies would reject the node agents that need host access. Each node
agent of an enabled add-on declares that access; it gets an exclusion from exactly the policies that
refuse it, matched by namespace *and* the chart's pod labels, so a different pod in the same namespace is
still checked.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from armful.addons import namespaces
from armful.addons.context import AddonContext
from armful.addons.spec import AddonOptions, AddonSpec
from armful.placement.workloads import HostAccess, Workload

CHART_VERSION = "3.9.0"

BASELINE_POLICIES: tuple[str, ...] = (
    "disallow-capabilities",
    "disallow-host-namespaces",
    "disallow-host-path",
    "disallow-host-ports",
    "disallow-host-process",
    "disallow-privileged-containers",
    "disallow-proc-mount",
    "disallow-selinux",
    "restrict-apparmor-profiles",
    "restrict-seccomp",
    "restrict-sysctls",
)


class KyvernoPoliciesOptions(AddonOptions):
    """``addons.kyvernoPolicies``: whether baseline violations are reported (Audit) or rejected (Enforce)."""

    validation_failure_action: Literal["Audit", "Enforce"] = "Audit"


# The baseline policy that refuses each kind of host access a node agent declares.
POLICY_REFUSING: dict[HostAccess, str] = {
    HostAccess.CAPABILITIES: "disallow-capabilities",
    HostAccess.HOST_NAMESPACES: "disallow-host-namespaces",
    HostAccess.HOST_PATH: "disallow-host-path",
    HostAccess.HOST_PORTS: "disallow-host-ports",
    HostAccess.PRIVILEGED: "disallow-privileged-containers",
    HostAccess.APPARMOR_UNCONFINED: "restrict-apparmor-profiles",
}


def match_condition(agent: Workload, namespace: str) -> dict[str, str]:
    """A CEL condition that is false (policy skipped) only for this agent's pods in its namespace."""
    labels = " && ".join(
        f"'{key}' in object.metadata.labels && object.metadata.labels['{key}'] == '{value}'"
        for key, value in sorted(agent.pod_labels.items())
    )
    return {
        "name": f"armful-exclude-{agent.name}",
        "expression": f"!(request.namespace == '{namespace}' && has(object.metadata.labels) && {labels})",
    }


def node_agent_exclusions(addons: Sequence[AddonSpec]) -> dict[str, dict[str, Any]]:
    """``vpolExcludeByPolicy``: for each policy a node agent of these add-ons breaks, one condition per
    such agent, from the host access each agent declares."""
    by_policy: dict[str, list[dict[str, str]]] = {}
    for spec in addons:
        for agent in spec.workloads:
            for policy in dict.fromkeys(POLICY_REFUSING[access] for access in agent.host_access):
                by_policy.setdefault(policy, []).append(match_condition(agent, spec.namespace))
    return {policy: {"matchConditions": conditions} for policy, conditions in sorted(by_policy.items())}


def values(context: AddonContext) -> dict[str, Any]:
    action = context.options_as(KyvernoPoliciesOptions).validation_failure_action
    enforce = action == "Enforce"
    return {
        # The exclusion keys below only apply to this policy type: pin it against a chart default change.
        "policyType": "ValidatingPolicy",
        "podSecurityStandard": "baseline",
        "validationFailureAction": action,
        # Set either way (the chart's default is Fail). Audit: a report of what would be refused is not
        # worth blocking every pod in the cluster while Kyverno's webhook is unreachable, so Ignore. Enforce:
        # a policy that lets pods through whenever the webhook is down enforces nothing, so Fail; the
        # admission controller runs three replicas with a PDB of two for that. Armful's own namespaces
        # do not rest on this choice: Pod Security Admission labels hold them, inside the API server.
        "failurePolicy": "Fail" if enforce else "Ignore",
        "vpolExcludeByPolicy": node_agent_exclusions(context.enabled_addons) if enforce else {},
    }


SPEC = AddonSpec(
    key="kyvernoPolicies",
    release="kyverno-policies",
    namespace=namespaces.KYVERNO,
    chart="kyverno-policies",
    repository="https://kyverno.github.io/kyverno/",
    version=CHART_VERSION,
    summary="Pod Security Standards (baseline) as Kyverno policies, Audit or Enforce",
    workloads=(),
    values=values,
    options=KyvernoPoliciesOptions,
    needs=("kyverno",),
    free_form_paths=("vpolExcludeByPolicy",),
    chart_dir=f"kyverno-policies-{CHART_VERSION}",
    # The kyverno release, which this one needs, owns the namespace.
    create_namespace=False,
)
