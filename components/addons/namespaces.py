"""The namespaces Armful installs add-ons into, named once so policies and specs cannot drift apart.

Policy exclusions (``kyverno_policies``) are scoped by namespace: a release moved to another namespace
without updating these constants would silently lose (or widen) its exclusion.
"""

from __future__ import annotations

from typing import Final

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
