"""NetworkPolicy semantics, as Kubernetes defines them and as the VPC CNI's agent enforces them, for tests.

Written from the Kubernetes API reference (networking.k8s.io/v1 NetworkPolicy) and from
aws/amazon-network-policy-controller-k8s (``pkg/resolvers/endpoints.go``), not from Armful's code:

- a pod is isolated for ingress (egress) once any policy in its namespace selects it and lists Ingress
  (Egress) in ``policyTypes``; then a connection is allowed only if some such policy has a rule whose
  peers and ports admit it. Pods on the host network are never isolated;
- a peer with only ``podSelector`` selects pods of the policy's own namespace; ``namespaceSelector``
  selects namespaces by their labels (every namespace carries ``kubernetes.io/metadata.name``); an
  ``ipBlock`` selects addresses. A pod-to-pod flow here must be admitted by selectors: whether an
  ipBlock admits a pod's address is left to implementations, so no proof leans on it;
- a rule without ``ports`` admits every port; a port may be a number (with ``endPort``) or a name,
  resolved against the destination pod's container ports;
- egress to a Service's ClusterIP: Kubernetes judges the pod it is rewritten to (post-DNAT); the VPC
  CNI's agent judges the ClusterIP itself, before kube-proxy rewrites it, and admits it only through an
  ipBlock holding it on the Service port, or through a pod peer whose namespaces hold the Service and
  whose pod selector matches the Service's selector, on a port the Service targets. Both must pass.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network
from typing import Any

NAMESPACE_NAME = "kubernetes.io/metadata.name"


@dataclass(frozen=True)
class ContainerPort:
    name: str | None
    number: int
    protocol: str = "TCP"


@dataclass(frozen=True)
class Pod:
    what: str
    namespace: str
    labels: Mapping[str, str]
    ports: tuple[ContainerPort, ...] = ()
    host_network: bool = False
    service_account: str | None = None
    config_maps: frozenset[str] = frozenset()
    """The ConfigMaps its pods mount (where an add-on's config names what it calls)."""
    containers: tuple[Mapping[str, Any], ...] = field(default=(), compare=False, hash=False)

    def port(self, name_or_number: str | int, protocol: str) -> int | None:
        for port in self.ports:
            if port.protocol == protocol and (port.name == name_or_number or port.number == name_or_number):
                return port.number
        return None


@dataclass(frozen=True)
class Address:
    what: str
    ip: IPv4Address


@dataclass(frozen=True)
class ServicePort:
    name: str | None
    port: int
    target: str | int
    protocol: str = "TCP"


@dataclass(frozen=True)
class Service:
    namespace: str
    name: str
    selector: Mapping[str, str] | None
    ports: tuple[ServicePort, ...]
    cluster_ip: IPv4Address
    labels: Mapping[str, str] = field(default_factory=dict)
    endpoints: tuple[Address, ...] = ()
    """Where a Service without a selector sends (the API server's ENIs, the kubelets)."""

    def port_named(self, name: str | int) -> ServicePort | None:
        return next((p for p in self.ports if p.name == name or p.port == name), None)


Endpoint = Pod | Address


@dataclass(frozen=True)
class Flow:
    addon: str
    why: str
    source: Endpoint
    destination: Endpoint | Service
    port: int
    """The destination pod's container port, an address's port, or for a Service its Service port."""
    protocol: str = "TCP"

    def __str__(self) -> str:
        target = (
            f"Service {self.destination.namespace}/{self.destination.name}"
            if isinstance(self.destination, Service)
            else self.destination.what
        )
        return f"[{self.addon}] {self.source.what} -> {target}:{self.port}/{self.protocol} ({self.why})"


def matches(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    """A LabelSelector against labels; an empty selector matches everything."""
    if selector is None:
        return True
    if any(labels.get(key) != value for key, value in (selector.get("matchLabels") or {}).items()):
        return False
    for expression in selector.get("matchExpressions") or ():
        key, operator, values = expression["key"], expression["operator"], expression.get("values") or ()
        present = key in labels
        if operator == "In" and not (present and labels[key] in values):
            return False
        if operator == "NotIn" and present and labels[key] in values:
            return False
        if operator == "Exists" and not present:
            return False
        if operator == "DoesNotExist" and present:
            return False
    return True


class Cluster:
    """The policies in force and the namespaces' labels."""

    def __init__(self, policies: Sequence[Mapping[str, Any]], namespaces: Iterable[str]) -> None:
        self.policies = list(policies)
        self.namespace_labels = {name: {NAMESPACE_NAME: name} for name in namespaces}

    def _namespace_labels(self, namespace: str) -> dict[str, str]:
        return self.namespace_labels.get(namespace, {NAMESPACE_NAME: namespace})

    def _selecting(self, pod: Pod, direction: str) -> list[Mapping[str, Any]]:
        if pod.host_network:
            return []
        return [
            policy
            for policy in self.policies
            if policy["metadata"]["namespace"] == pod.namespace
            and matches(policy["spec"].get("podSelector") or {}, pod.labels)
            and direction in _policy_types(policy["spec"])
        ]

    def _peer_admits(self, peer: Mapping[str, Any], policy_namespace: str, other: Endpoint) -> bool:
        if "ipBlock" in peer:
            if not isinstance(other, Address):
                return False
            block = peer["ipBlock"]
            return other.ip in IPv4Network(block["cidr"]) and not any(
                other.ip in IPv4Network(cidr) for cidr in block.get("except") or ()
            )
        if not isinstance(other, Pod):
            return False
        if "namespaceSelector" in peer:
            namespace_ok = matches(peer["namespaceSelector"], self._namespace_labels(other.namespace))
        else:
            namespace_ok = other.namespace == policy_namespace
        return namespace_ok and matches(peer.get("podSelector") or {}, other.labels)

    @staticmethod
    def _ports_admit(
        ports: Sequence[Mapping[str, Any]] | None, port: int, protocol: str, pod: Pod | None
    ) -> bool:
        if not ports:
            return True
        for entry in ports:
            if entry.get("protocol", "TCP") != protocol:
                continue
            value = entry.get("port")
            if value is None:
                return True
            if isinstance(value, str):
                if pod is not None and pod.port(value, protocol) == port:
                    return True
                continue
            if value <= port <= entry.get("endPort", value):
                return True
        return False

    def _admitted(self, pod: Pod, direction: str, other: Endpoint, port: int, protocol: str) -> bool:
        selecting = self._selecting(pod, direction)
        if not selecting:
            return True
        key = "from" if direction == "Ingress" else "to"
        destination = pod if direction == "Ingress" else (other if isinstance(other, Pod) else None)
        for policy in selecting:
            for rule in policy["spec"].get(direction.lower()) or ():
                peers = rule.get(key)
                peers_ok = peers is None or any(
                    self._peer_admits(peer, policy["metadata"]["namespace"], other) for peer in peers
                )
                if peers_ok and self._ports_admit(rule.get("ports"), port, protocol, destination):
                    return True
        return False

    def _aws_cluster_ip_admitted(
        self, pod: Pod, service: Service, port: ServicePort, backends: Sequence[Pod]
    ) -> bool:
        """The VPC CNI's egress check on the ClusterIP, before kube-proxy rewrites it."""
        selecting = self._selecting(pod, "Egress")
        if not selecting:
            return True
        cluster_ip = Address(f"ClusterIP of {service.name}", service.cluster_ip)
        for policy in selecting:
            for rule in policy["spec"].get("egress") or ():
                ports = rule.get("ports")
                peers = rule.get("to")
                if peers is None:
                    if self._cidr_ports_admit(ports, port):
                        return True
                    continue
                for peer in peers:
                    if "ipBlock" in peer:
                        if self._peer_admits(peer, "", cluster_ip) and self._cidr_ports_admit(ports, port):
                            return True
                        continue
                    if service.selector is None:
                        continue
                    namespace_ok = (
                        matches(peer["namespaceSelector"], self._namespace_labels(service.namespace))
                        if "namespaceSelector" in peer
                        else service.namespace == policy["metadata"]["namespace"]
                    )
                    if not namespace_ok or not matches(peer.get("podSelector") or {}, service.selector):
                        continue
                    if _service_port_resolved(ports, service, port, backends):
                        return True
        return False

    @staticmethod
    def _cidr_ports_admit(ports: Sequence[Mapping[str, Any]] | None, port: ServicePort) -> bool:
        """Named ports mean nothing to an address: the controller drops them for CIDR peers."""
        if not ports:
            return True
        numeric = [entry for entry in ports if not isinstance(entry.get("port"), str)]
        return Cluster._ports_admit(numeric, port.port, port.protocol, None)

    def denials(self, flow: Flow, backends: Sequence[Pod] = ()) -> list[str]:
        """Why the flow would be refused: empty when every check on its way admits it."""
        problems = []
        source, destination = flow.source, flow.destination
        if isinstance(destination, Service):
            service_port = destination.port_named(flow.port)
            assert service_port is not None, f"{flow}: the Service has no port {flow.port}"
            if isinstance(source, Pod) and not self._aws_cluster_ip_admitted(
                source, destination, service_port, backends
            ):
                problems.append("the VPC CNI refuses its egress to the ClusterIP")
            targets: list[tuple[Endpoint, int]] = []
            for backend in backends:
                number = (
                    backend.port(service_port.target, service_port.protocol)
                    if isinstance(service_port.target, str)
                    else service_port.target
                )
                assert number is not None, f"{flow}: {backend.what} has no port {service_port.target}"
                targets.append((backend, number))
            targets += [(address, service_port.target) for address in destination.endpoints]  # type: ignore[misc]
            assert targets, f"{flow}: nothing backs the Service"
        else:
            targets = [(destination, flow.port)]
        for target, number in targets:
            if isinstance(source, Pod) and not self._admitted(
                source, "Egress", target, number, flow.protocol
            ):
                problems.append(f"egress from {source.what} to {target.what}:{number} is refused")
            if isinstance(target, Pod) and not self._admitted(
                target, "Ingress", source, number, flow.protocol
            ):
                problems.append(f"ingress to {target.what}:{number} is refused")
        return problems


def _policy_types(spec: Mapping[str, Any]) -> list[str]:
    if "policyTypes" in spec:
        return list(spec["policyTypes"])
    return ["Ingress", *(["Egress"] if spec.get("egress") else [])]


def _service_port_resolved(
    ports: Sequence[Mapping[str, Any]] | None, service: Service, port: ServicePort, backends: Sequence[Pod]
) -> bool:
    """Whether a rule's ports give the controller this Service port: it maps each policy port (a pod port)
    to the Service port targeting it, and skips a named target that some backend resolves to a port the
    rule does not admit."""
    if not ports:
        return True
    for entry in ports:
        if entry.get("protocol", "TCP") != port.protocol:
            continue
        value = entry.get("port")
        if value is None:
            return True
        if isinstance(port.target, int):
            if port.target == value:
                return True
            continue
        resolved = {number for backend in backends if (number := backend.port(port.target, port.protocol))}
        every_backend_admitted = all(
            Cluster._ports_admit(ports, number, port.protocol, None) for number in resolved
        )
        if resolved and every_backend_admitted and (value in resolved or value == port.target):
            return True
    return False
