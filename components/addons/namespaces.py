"""The namespaces Armful installs add-ons into, named once so policies and specs cannot drift apart.

Policy exclusions (``kyverno_policies``) are scoped by namespace: a release moved to another namespace
without updating these constants would silently lose (or widen) its exclusion.

The namespaces Armful creates carry Pod Security Admission labels at the strictest level their add-ons'
pods meet (``armful.planning.pod_security``): restricted, or privileged for a namespace whose node agent
needs host access. ``kube-system`` is EKS's, and is left as it is.
"""

from __future__ import annotations

from typing import Final

from armful.placement.workloads import PodSecurityLevel

KUBE_SYSTEM: Final = "kube-system"
CERT_MANAGER: Final = "cert-manager"
KYVERNO: Final = "kyverno"
FALCO: Final = "falco"
MONITORING: Final = "monitoring"
"""kube-prometheus-stack, with its node-exporter DaemonSet."""
LOGGING: Final = "logging"
"""fluent-bit."""
OPENTELEMETRY: Final = "opentelemetry"
"""opentelemetry-collector, gateway or agent."""

POD_SECURITY_MODES: Final = ("enforce", "audit", "warn")
"""Pod Security Admission's three modes, each a namespace label ``pod-security.kubernetes.io/<mode>``."""


def pod_security_labels(level: PodSecurityLevel) -> dict[str, str]:
    """A namespace's Pod Security Admission labels: one level enforced, audited and warned about.

    Enforce refuses pods; warn and audit also judge the pod templates of Deployments, DaemonSets and Jobs
    when they are applied, so a workload whose pods would be refused says so to whoever applies it instead
    of leaving a ReplicaSet that never makes a pod. No ``-version`` label: each level is judged by the
    cluster's own Kubernetes version.
    """
    return {f"pod-security.kubernetes.io/{mode}": level.value for mode in POD_SECURITY_MODES}
