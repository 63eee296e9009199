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

With ``Enforce``, the baseline policies would reject the node agents that need host access. Each gets an
exclusion from exactly the policies it breaks, matched by namespace *and* the chart's pod labels, so a
different pod in the same namespace is still checked.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from armful.addons import namespaces
from armful.addons.context import AddonContext
from armful.addons.spec import AddonOptions, AddonSpec

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


@dataclass(frozen=True)
class NodeAgentExclusion:
    """A node agent that needs host access, and the baseline policies that access breaks."""

    name: str
    namespace: str
    pod_labels: Mapping[str, str]
    policies: tuple[str, ...]

    def match_condition(self) -> dict[str, str]:
        """A CEL condition that is false (policy skipped) only for this agent's pods in its namespace."""
        labels = " && ".join(
            f"'{key}' in object.metadata.labels && object.metadata.labels['{key}'] == '{value}'"
            for key, value in sorted(self.pod_labels.items())
        )
        return {
            "name": f"armful-exclude-{self.name}",
            "expression": (
                f"!(request.namespace == '{self.namespace}' && has(object.metadata.labels) && {labels})"
            ),
        }


NODE_AGENT_EXCLUSIONS: tuple[NodeAgentExclusion, ...] = (
    # modern_ebpf runs privileged, or with BPF/PERFMON/SYS_RESOURCE/SYS_PTRACE and AppArmor unconfined
    # when leastPrivileged; it mounts /proc, /etc, /dev and the container runtime sockets.
    NodeAgentExclusion(
        name="falco",
        namespace=namespaces.FALCO,
        pod_labels={"app.kubernetes.io/name": "falco"},
        policies=(
            "disallow-capabilities",
            "disallow-host-path",
            "disallow-privileged-containers",
            "restrict-apparmor-profiles",
        ),
    ),
    # hostNetwork and hostPID by default; with hostNetwork the API server sets hostPort on its port.
    NodeAgentExclusion(
        name="node-exporter",
        namespace=namespaces.MONITORING,
        pod_labels={"app.kubernetes.io/name": "prometheus-node-exporter"},
        policies=("disallow-host-namespaces", "disallow-host-path", "disallow-host-ports"),
    ),
    # Tails /var/log and container logs from the host.
    NodeAgentExclusion(
        name="fluent-bit",
        namespace=namespaces.LOGGING,
        pod_labels={"app.kubernetes.io/name": "fluent-bit"},
        policies=("disallow-host-path",),
    ),
    # Only the agent (DaemonSet) mode: it publishes OTLP on host ports and its log and host-metrics
    # presets mount host paths. The gateway Deployment stays fully checked.
    NodeAgentExclusion(
        name="otel-agent",
        namespace=namespaces.OPENTELEMETRY,
        pod_labels={"app.kubernetes.io/name": "opentelemetry-collector", "component": "agent-collector"},
        policies=("disallow-host-path", "disallow-host-ports"),
    ),
)


def node_agent_exclusions() -> dict[str, dict[str, Any]]:
    """``vpolExcludeByPolicy``: for each policy a node agent breaks, one condition per such agent."""
    by_policy: dict[str, list[dict[str, str]]] = {}
    for agent in NODE_AGENT_EXCLUSIONS:
        for policy in agent.policies:
            by_policy.setdefault(policy, []).append(agent.match_condition())
    return {policy: {"matchConditions": conditions} for policy, conditions in sorted(by_policy.items())}


def values(context: AddonContext) -> dict[str, Any]:
    action = context.options_as(KyvernoPoliciesOptions).validation_failure_action
    enforce = action == "Enforce"
    return {
        # The exclusion keys below only apply to this policy type: pin it against a chart default change.
        "policyType": "ValidatingPolicy",
        "podSecurityStandard": "baseline",
        "validationFailureAction": action,
        # Auditing must not block pod creation when Kyverno is down; enforcing must not be bypassed.
        "failurePolicy": "Fail" if enforce else "Ignore",
        "vpolExcludeByPolicy": node_agent_exclusions() if enforce else {},
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
