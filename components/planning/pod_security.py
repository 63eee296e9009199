"""The namespaces Armful creates for its releases, and the Pod Security level each is labelled with.

A namespace gets the strictest level that every enabled workload of every release installed into it
meets (``Workload.pod_security``): one node agent with host access makes its namespace privileged. Falco
and fluent-bit have namespaces of their own; node-exporter shares ``monitoring`` with Prometheus and
Grafana, which is therefore privileged too. Levels follow the values: the collector in agent mode (host
ports) makes ``opentelemetry`` privileged, as a gateway it is restricted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from armful.addons.namespaces import pod_security_labels
from armful.placement.workloads import PodSecurityLevel
from armful.planning.releases import ReleasePlan

# Most open first: a namespace takes the most open level any of its pods needs.
_OPENNESS = (PodSecurityLevel.PRIVILEGED, PodSecurityLevel.BASELINE, PodSecurityLevel.RESTRICTED)


@dataclass(frozen=True)
class NamespacePlan:
    name: str
    pod_security: PodSecurityLevel
    releases: tuple[str, ...]
    """The releases installed into it (those that create it and those that only use it)."""
    needs_host_access: tuple[str, ...] = ()
    """``release/workload`` of each workload that makes it privileged: what the level is for."""

    @property
    def labels(self) -> dict[str, str]:
        return pod_security_labels(self.pod_security)


def plan_namespaces(releases: Sequence[ReleasePlan]) -> tuple[NamespacePlan, ...]:
    """Every namespace a release creates (``create_namespace``), in release order, with its level."""
    created = dict.fromkeys(r.spec.namespace for r in releases if r.spec.create_namespace)
    planned = []
    for namespace in created:
        inside = [r for r in releases if r.spec.namespace == namespace]
        workloads = [
            (release.spec.release, workload)
            for release in inside
            for workload in release.spec.workloads
            if workload.runs(release.values)
        ]
        level = min(
            (workload.pod_security for _, workload in workloads),
            key=_OPENNESS.index,
            default=PodSecurityLevel.RESTRICTED,
        )
        host = tuple(
            f"{release}/{w.name}" for release, w in workloads if w.pod_security is PodSecurityLevel.PRIVILEGED
        )
        planned.append(NamespacePlan(namespace, level, tuple(r.spec.release for r in inside), host))
    return tuple(planned)
