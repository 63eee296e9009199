"""What each add-on's pods must be reached by and must reach, as data: the flows Armful's NetworkPolicies allow.

Every namespace Armful creates gets a baseline that isolates all its pods both ways and lets each one
out to what every add-on pod talks to: cluster DNS and HTTPS (the Kubernetes API server, AWS APIs), and
for an add-on with a Pod Identity association the EKS Pod Identity agent. Each workload then adds what
only it needs. Armful's pods
in ``kube-system`` (the load balancer controller, metrics-server) get the same, pod by pod: that
namespace is EKS's, and its other pods are left as they are.

Facts these rules rest on, for the VPC CNI's network policy agent (aws/aws-network-policy-agent, with
the policy controller EKS runs in the control plane, aws/amazon-network-policy-controller-k8s):

- It judges a pod's egress on the pod's own interface, before kube-proxy rewrites a Service's
  ClusterIP to a pod. For a pod peer it also allows the ClusterIP of every Service in the peer's
  namespaces whose selector the peer's pod selector matches, on the Service port that targets the
  allowed pod port. The ``kubernetes`` Service has no selector, and its ClusterIP lies in the service
  range EKS picks (10.100.0.0/16 or 172.20.0.0/16), outside the VPC: so HTTPS out is to 0.0.0.0/0.
- Traffic from the pod's own node (kubelet probes) is always allowed; pods on the host network are
  never isolated (node-exporter, kube-proxy, aws-node).
- The control plane calls webhooks, and the metrics APIService, from its ENIs in the cluster's
  subnets: from the VPC's CIDR blocks, to the pod's container port.
- At most 24 port and protocol pairs per rule.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from armful.addons import (
    aws_load_balancer_controller,
    cert_manager,
    falco,
    kube_prometheus_stack,
    kyverno,
    metrics_server,
    opentelemetry_collector,
)
from armful.addons.context import DeployTime
from armful.addons.spec import AddonOptions

VPC_CIDRS = DeployTime("vpc_cidrs")
"""The VPC's IPv4 CIDR blocks, read from the VPC at deploy time: one ipBlock peer stands for all of them."""

CLUSTER_DNS_NAMESPACE = "kube-system"
CLUSTER_DNS_LABELS = {"k8s-app": "kube-dns"}
"""EKS's CoreDNS pods carry this label, and its ``kube-dns`` Service selects them by it alone."""
POD_IDENTITY_AGENT_CIDR = "169.254.170.23/32"
"""Where the EKS Pod Identity agent serves credentials on every node (``AWS_CONTAINER_CREDENTIALS_FULL_URI``)."""
ANYWHERE_CIDR = "0.0.0.0/0"
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"
"""Set by Kubernetes on every namespace to its name."""
MAX_PORTS_PER_RULE = 24
"""The VPC CNI's limit on port and protocol pairs in one ingress or egress rule."""


class Protocol(StrEnum):
    TCP = "TCP"
    UDP = "UDP"


@dataclass(frozen=True)
class Port:
    number: int
    protocol: Protocol = Protocol.TCP


def tcp(*numbers: int) -> tuple[Port, ...]:
    return tuple(Port(number) for number in numbers)


def tcp_and_udp(number: int) -> tuple[Port, ...]:
    return (Port(number, Protocol.TCP), Port(number, Protocol.UDP))


class Place(StrEnum):
    """A peer that is not an add-on's pods."""

    CONTROL_PLANE = "the EKS control plane (its ENIs in the VPC)"
    NODES = "the cluster's nodes (their addresses in the VPC)"
    ANYWHERE = "any address"
    EVERY_POD = "every pod in every namespace"
    CLUSTER_DNS = "cluster DNS (CoreDNS in kube-system)"
    POD_IDENTITY_AGENT = "the EKS Pod Identity agent on the node"


@dataclass(frozen=True)
class Pods:
    """The pods of one add-on workload, wherever its release installs them."""

    release: str
    workload: str


Peer = Place | Pods


@dataclass(frozen=True)
class Allow:
    peer: Peer
    ports: tuple[Port, ...]
    """Empty: every port."""
    why: str


@dataclass(frozen=True)
class WorkloadFlows:
    """What one workload's pods need beyond the baseline."""

    workload: str
    """The name of a workload its add-on declares: its pod labels select the pods."""
    ingress: tuple[Allow, ...] = ()
    egress: tuple[Allow, ...] = ()
    egress_for: Callable[[AddonOptions], tuple[Allow, ...]] | None = None
    """Egress that depends on the add-on's options."""

    def all_egress(self, options: AddonOptions) -> tuple[Allow, ...]:
        return self.egress + (self.egress_for(options) if self.egress_for else ())


BASELINE_EGRESS = (
    Allow(Place.CLUSTER_DNS, (Port(53, Protocol.UDP), Port(53, Protocol.TCP)), "name lookups"),
    Allow(Place.ANYWHERE, tcp(443), "the Kubernetes API server (its ClusterIP), AWS APIs, registries"),
)
"""What every add-on pod may reach: its hook Jobs, which carry no labels of their own, included."""
POD_IDENTITY_EGRESS = Allow(Place.POD_IDENTITY_AGENT, tcp(80), "AWS credentials through EKS Pod Identity")
"""Added to the baseline of an add-on with a Pod Identity association."""

PROMETHEUS = Pods(kube_prometheus_stack.RELEASE, kube_prometheus_stack.PROMETHEUS.name)
GRAFANA = Pods(kube_prometheus_stack.RELEASE, kube_prometheus_stack.GRAFANA.name)
ALERTMANAGER = Pods(kube_prometheus_stack.RELEASE, kube_prometheus_stack.ALERTMANAGER.name)
KUBELET_PORT = 10250
NODE_EXPORTER_PORT = 9100
KUBE_PROXY_METRICS_PORT = 10249
ALERTMANAGER_MESH_PORT = 9094
"""The port the prometheus-operator gives Alertmanager replicas to gossip on, over TCP and UDP."""


def _scraped(*ports: int) -> Allow:
    return Allow(PROMETHEUS, tcp(*ports), "Prometheus scrapes its metrics")


def _webhook(port: int) -> Allow:
    return Allow(Place.CONTROL_PLANE, tcp(port), "the API server calls its webhook")


def _otlp_egress(options: AddonOptions) -> tuple[Allow, ...]:
    collector = opentelemetry_collector.OpenTelemetryCollectorOptions.model_validate(options.model_dump())
    port = otlp_endpoint_port(collector.otlp_endpoint)
    if collector.traces_exporter != "otlp" or port is None or port == 443:
        return ()
    return (Allow(Place.ANYWHERE, tcp(port), "the OTLP backend traces are exported to"),)


def otlp_endpoint_port(endpoint: str | None) -> int | None:
    """The port of an OTLP/gRPC endpoint as the collector reads it: ``host:port`` (``http://`` or ``https://``
    allowed in front); 4317, the OTLP/gRPC port, when none is given."""
    if not endpoint:
        return None
    rest = endpoint.split("://", 1)[-1].split("/", 1)[0]
    host, _, port = rest.rpartition(":")
    if host and port.isdigit() and not rest.endswith("]"):
        return int(port)
    return 4317


_COLLECTOR_INGRESS = (
    Allow(Place.EVERY_POD, tcp(4317, 4318), "applications send OTLP (gRPC and HTTP)"),
    _scraped(8888),
)

FLOWS: dict[str, tuple[WorkloadFlows, ...]] = {
    aws_load_balancer_controller.RELEASE: (
        WorkloadFlows(aws_load_balancer_controller.CONTROLLER.name, ingress=(_webhook(9443), _scraped(8080))),
    ),
    falco.RELEASE: (
        WorkloadFlows(
            falco.FALCO_AGENT.name,
            egress=(Allow(Pods(falco.RELEASE, falco.SIDEKICK.name), tcp(2801), "alerts to falcosidekick"),),
        ),
        WorkloadFlows(
            falco.SIDEKICK.name,
            ingress=(
                Allow(Pods(falco.RELEASE, falco.FALCO_AGENT.name), tcp(2801), "Falco posts its alerts"),
            ),
        ),
    ),
    kyverno.RELEASE: (
        WorkloadFlows(kyverno.ADMISSION_CONTROLLER.name, ingress=(_webhook(9443), _scraped(8000))),
        WorkloadFlows(kyverno.BACKGROUND_CONTROLLER.name, ingress=(_scraped(8000),)),
        WorkloadFlows(kyverno.CLEANUP_CONTROLLER.name, ingress=(_webhook(9443), _scraped(8000))),
        WorkloadFlows(kyverno.REPORTS_CONTROLLER.name, ingress=(_scraped(8000),)),
    ),
    cert_manager.RELEASE: (
        WorkloadFlows(
            cert_manager.CONTROLLER.name,
            ingress=(_scraped(9402),),
            egress=(
                Allow(Place.ANYWHERE, tcp(80), "the HTTP-01 self-check of a challenge"),
                Allow(Place.ANYWHERE, tcp_and_udp(53), "DNS-01 checks ask the zone's own nameservers"),
            ),
        ),
        WorkloadFlows(cert_manager.WEBHOOK.name, ingress=(_webhook(10250), _scraped(9402))),
        WorkloadFlows(cert_manager.CAINJECTOR.name, ingress=(_scraped(9402),)),
    ),
    kube_prometheus_stack.RELEASE: (
        WorkloadFlows(kube_prometheus_stack.OPERATOR.name, ingress=(_webhook(10250), _scraped(10250))),
        WorkloadFlows(kube_prometheus_stack.KUBE_STATE_METRICS.name, ingress=(_scraped(8080, 8081),)),
        WorkloadFlows(
            GRAFANA.workload,
            ingress=(_scraped(3000),),
            egress=(
                Allow(PROMETHEUS, tcp(9090), "its Prometheus data source"),
                Allow(ALERTMANAGER, tcp(9093), "its Alertmanager data source"),
            ),
        ),
        WorkloadFlows(
            PROMETHEUS.workload,
            ingress=(
                _scraped(9090, 8080),
                Allow(GRAFANA, tcp(9090), "Grafana queries it"),
            ),
            egress=(
                Allow(Place.EVERY_POD, (), "it scrapes the targets of every ServiceMonitor and PodMonitor"),
                Allow(
                    Place.NODES,
                    tcp(KUBELET_PORT, NODE_EXPORTER_PORT, KUBE_PROXY_METRICS_PORT),
                    "kubelets, node-exporter and kube-proxy on the host network",
                ),
            ),
        ),
        WorkloadFlows(
            ALERTMANAGER.workload,
            ingress=(
                Allow(PROMETHEUS, tcp(9093, 8080), "Prometheus sends alerts and scrapes it"),
                Allow(GRAFANA, tcp(9093), "Grafana queries it"),
                Allow(ALERTMANAGER, tcp_and_udp(ALERTMANAGER_MESH_PORT), "its replicas gossip"),
            ),
            egress=(Allow(ALERTMANAGER, tcp_and_udp(ALERTMANAGER_MESH_PORT), "its replicas gossip"),),
        ),
    ),
    opentelemetry_collector.RELEASE: (
        WorkloadFlows(
            opentelemetry_collector.GATEWAY.name, ingress=_COLLECTOR_INGRESS, egress_for=_otlp_egress
        ),
        WorkloadFlows(
            opentelemetry_collector.AGENT.name, ingress=_COLLECTOR_INGRESS, egress_for=_otlp_egress
        ),
    ),
    metrics_server.SPEC.release: (
        WorkloadFlows(
            metrics_server.SERVER.name,
            ingress=(Allow(Place.CONTROL_PLANE, tcp(10250), "the API server calls its APIService"),),
            egress=(Allow(Place.NODES, tcp(KUBELET_PORT), "it reads every kubelet's resource metrics"),),
        ),
    ),
}
"""Per release, the workloads that need more than the baseline. Fluent Bit needs only the baseline (the
API server, CloudWatch Logs, its credentials); so do the hook Jobs."""


def describe_ports(ports: tuple[Port, ...]) -> list[dict[str, Any]]:
    """Ports as a NetworkPolicy rule lists them."""
    return [{"protocol": port.protocol.value, "port": port.number} for port in ports]
