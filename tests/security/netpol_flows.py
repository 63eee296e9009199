"""The flows each add-on needs, derived from what its real chart renders with the planned values.

Nothing here is read from Armful's own flow declarations: each flow comes from a rendered object (a
webhook's ``clientConfig.service``, an APIService, a CRD conversion webhook, a ServiceMonitor or
PodMonitor and the Service and ports it names, a container port named for metrics, a data source URL,
an exporter or output in an add-on's config, a Pod Identity service account) or from a documented need
of the software a rendered pod runs, each said where it is used. Around the charts stands what EKS runs
itself (CoreDNS, kube-proxy, the ``kubernetes`` Service, the kubelets, the Pod Identity agent) and what
the prometheus-operator builds from the Prometheus and Alertmanager resources, as their sources define it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network
from typing import Any
from urllib.parse import urlsplit

import yaml
from netpol_semantics import Address, ContainerPort, Flow, Pod, Service, ServicePort, matches

from armful.planning.plan import Plan
from armful.render.pod_templates import HOOK_ANNOTATION, TEST_HOOK_EVENTS

SERVICE_RANGE = IPv4Network("172.20.0.0/16")
"""One of the two ranges EKS picks ClusterIPs from; outside every VPC the example stacks use."""
STAND_IN_VPC = IPv4Network("10.0.0.0/16")
"""An existing VPC's block, as the Pulumi mocks' getVpc answers it."""
AWS_API = Address("an AWS API endpoint", IPv4Address("52.94.133.131"))
INTERNET = Address("a host on the internet", IPv4Address("198.51.100.7"))
POD_IDENTITY_AGENT = Address("the EKS Pod Identity agent", IPv4Address("169.254.170.23"))
APPLICATION = Pod("an application pod in namespace shop", "shop", {"app": "checkout"})
KUBELET_PORT = 10250
"""Every EKS node's kubelet port (``status.daemonEndpoints.kubeletEndpoint``)."""

_WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "Job")


@dataclass
class World:
    """Every pod and Service the stack runs, rendered or EKS's own, and the VPC's addresses."""

    vpc: IPv4Network
    pods: list[tuple[str, Pod]] = field(default_factory=list)
    """(release, pod); EKS's own pods under the release ``eks``."""
    services: list[tuple[str, Service]] = field(default_factory=list)
    manifests: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    _next_ip: int = 10

    @property
    def control_plane(self) -> Address:
        return Address("an EKS control-plane ENI", self.vpc[10])

    @property
    def other_node(self) -> Address:
        return Address("another node", self.vpc[4000])

    def cluster_ip(self) -> IPv4Address:
        self._next_ip += 1
        return SERVICE_RANGE[self._next_ip]

    def service(self, namespace: str, name: str) -> Service | None:
        return next((s for _, s in self.services if (s.namespace, s.name) == (namespace, name)), None)

    def backends(self, service: Service) -> list[Pod]:
        if service.selector is None:
            return []
        return [
            pod
            for _, pod in self.pods
            if pod.namespace == service.namespace and matches({"matchLabels": service.selector}, pod.labels)
        ]

    def release_pods(self, release: str) -> list[Pod]:
        return [pod for owner, pod in self.pods if owner == release]

    def of_kind(self, kind: str) -> list[tuple[str, dict[str, Any]]]:
        return [(release, body) for release, body in self.manifests if body.get("kind") == kind]


def build_world(plan: Plan, rendered: Mapping[str, Sequence[dict[str, Any]]]) -> World:
    network = plan.config.network
    world = World(network.cidr if network.creates_vpc else STAND_IN_VPC)
    _eks_objects(world)
    for release in plan.releases:
        namespace = release.spec.namespace
        for body in rendered[release.spec.release]:
            metadata = body.setdefault("metadata", {})
            metadata.setdefault("namespace", namespace)
            world.manifests.append((release.spec.release, body))
    for release, body in world.manifests:
        pod = _pod_of(body)
        if pod is not None:
            world.pods.append((release, pod))
        if body["kind"] == "Service":
            world.services.append((release, _service_of(world, body)))
    _operator_objects(world)
    return world


def _eks_objects(world: World) -> None:
    """What EKS runs before any chart: its manifests' labels and ports."""
    world.pods += [
        (
            "eks",
            Pod(
                "CoreDNS",
                "kube-system",
                {"k8s-app": "kube-dns", "eks.amazonaws.com/component": "coredns"},
                (
                    ContainerPort("dns", 53, "UDP"),
                    ContainerPort("dns-tcp", 53),
                    ContainerPort("metrics", 9153),
                ),
            ),
        ),
        (
            "eks",
            Pod("kube-proxy", "kube-system", {"k8s-app": "kube-proxy"}, (ContainerPort(None, 10249),), True),
        ),
    ]
    world.services += [
        (
            "eks",
            Service(
                "default",
                "kubernetes",
                None,
                (ServicePort("https", 443, 443),),
                SERVICE_RANGE[1],
                {"component": "apiserver", "provider": "kubernetes"},
                (world.control_plane,),
            ),
        ),
        (
            "eks",
            Service(
                "kube-system",
                "kube-dns",
                {"k8s-app": "kube-dns"},
                (ServicePort("dns", 53, 53, "UDP"), ServicePort("dns-tcp", 53, 53)),
                SERVICE_RANGE[10],
            ),
        ),
    ]


def _is_test_hook(body: Mapping[str, Any]) -> bool:
    events = ((body.get("metadata") or {}).get("annotations") or {}).get(HOOK_ANNOTATION, "")
    return any(event.strip() in TEST_HOOK_EVENTS for event in events.split(","))


def _pod_of(body: Mapping[str, Any]) -> Pod | None:
    kind = body.get("kind")
    if kind == "Pod":
        template = body
    elif kind in _WORKLOAD_KINDS:
        template = body["spec"]["template"]
    else:
        return None
    if _is_test_hook(body):
        return None
    spec = template.get("spec") or {}
    containers = tuple(spec.get("containers") or ())
    return Pod(
        f"{kind} {body['metadata']['namespace']}/{body['metadata']['name']}",
        body["metadata"]["namespace"],
        dict((template.get("metadata") or {}).get("labels") or {}),
        tuple(
            ContainerPort(port.get("name"), port["containerPort"], port.get("protocol", "TCP"))
            for container in containers
            for port in container.get("ports") or ()
        ),
        bool(spec.get("hostNetwork")),
        spec.get("serviceAccountName"),
        frozenset(
            volume["configMap"]["name"] for volume in spec.get("volumes") or () if "configMap" in volume
        ),
        containers,
    )


def _service_of(world: World, body: Mapping[str, Any]) -> Service:
    spec = body["spec"]
    return Service(
        body["metadata"]["namespace"],
        body["metadata"]["name"],
        dict(spec["selector"]) if spec.get("selector") else None,
        tuple(
            ServicePort(
                port.get("name"),
                port["port"],
                port.get("targetPort", port["port"]),
                port.get("protocol", "TCP"),
            )
            for port in spec.get("ports") or ()
        ),
        world.cluster_ip(),
        dict(body["metadata"].get("labels") or {}),
    )


def _operator_objects(world: World) -> None:
    """What the prometheus-operator creates: a StatefulSet per Prometheus and Alertmanager (pod labels and
    ports as its pkg/prometheus and pkg/alertmanager set them), and the kubelet Service its
    ``--kubelet-service`` flag names, whose endpoints are the nodes' kubelets."""
    for release, body in world.of_kind("Prometheus"):
        name, spec = body["metadata"]["name"], body["spec"]
        labels = {
            "app.kubernetes.io/name": "prometheus",
            "app.kubernetes.io/instance": name,
            "app.kubernetes.io/managed-by": "prometheus-operator",
            "prometheus": name,
            "operator.prometheus.io/name": name,
            "operator.prometheus.io/shard": "0",
            **((spec.get("podMetadata") or {}).get("labels") or {}),
        }
        ports = (ContainerPort(spec.get("portName", "web"), 9090), ContainerPort("reloader-web", 8080))
        world.pods.append((release, Pod(f"Prometheus {name}", body["metadata"]["namespace"], labels, ports)))
    for release, body in world.of_kind("Alertmanager"):
        name, spec = body["metadata"]["name"], body["spec"]
        labels = {
            "app.kubernetes.io/name": "alertmanager",
            "app.kubernetes.io/instance": name,
            "app.kubernetes.io/managed-by": "prometheus-operator",
            "alertmanager": name,
            **((spec.get("podMetadata") or {}).get("labels") or {}),
        }
        ports = (
            ContainerPort(spec.get("portName", "web"), 9093),
            ContainerPort("mesh-tcp", 9094),
            ContainerPort("mesh-udp", 9094, "UDP"),
            ContainerPort("reloader-web", 8080),
        )
        world.pods.append(
            (release, Pod(f"Alertmanager {name}", body["metadata"]["namespace"], labels, ports))
        )
    for release, pod in list(world.pods):
        for argument in _arguments(pod):
            if argument.startswith("--kubelet-service="):
                namespace, name = argument.split("=", 1)[1].split("/")
                world.services.append(
                    (
                        release,
                        Service(
                            namespace,
                            name,
                            None,
                            (ServicePort("https-metrics", KUBELET_PORT, KUBELET_PORT),),
                            world.cluster_ip(),
                            {
                                "k8s-app": "kubelet",
                                "app.kubernetes.io/name": "kubelet",
                                "app.kubernetes.io/managed-by": "prometheus-operator",
                            },
                            (world.other_node,),
                        ),
                    )
                )


def _arguments(pod: Pod) -> list[str]:
    return [str(argument) for container in pod.containers for argument in container.get("args") or ()]


def _env(pod: Pod) -> dict[str, str]:
    return {
        variable["name"]: variable["value"]
        for container in pod.containers
        for variable in container.get("env") or ()
        if "value" in variable
    }


@dataclass(frozen=True)
class Need:
    """A flow to prove, with the pods behind the Service it goes through."""

    flow: Flow
    backends: tuple[Pod, ...] = ()


class Needs:
    """Every flow the stack's add-ons need, each derived from a rendered object or a documented need."""

    def __init__(self, plan: Plan, world: World) -> None:
        self.plan, self.world = plan, world
        self.found: list[Need] = []
        self.prometheus = [pod for _, pod in world.pods if pod.what.startswith("Prometheus ")]

    def all(self) -> list[Need]:
        self.every_pod_needs_dns_and_the_api_server()
        self.the_control_plane_calls_webhooks()
        self.prometheus_scrapes_monitors()
        self.prometheus_scrapes_metrics_ports()
        self.prometheus_sends_alerts()
        self.alertmanager_replicas_gossip()
        self.grafana_queries_its_data_sources()
        self.falco_posts_to_its_http_output()
        self.collector_receives_and_exports()
        self.pod_identity_users_call_aws()
        self.cert_manager_solves_acme_challenges()
        self.metrics_server_reads_kubelets()
        self.registries_and_indexes()
        return self.found

    def _to_service(self, addon: str, why: str, source: Pod, service: Service, port: ServicePort) -> None:
        flow = Flow(addon, why, source, service, port.port, port.protocol)
        self.found.append(Need(flow, tuple(self.world.backends(service))))

    def _to(
        self,
        addon: str,
        why: str,
        source: Pod | Address,
        destination: Pod | Address,
        port: int,
        protocol: str = "TCP",
    ) -> None:
        if isinstance(destination, Pod) and destination.host_network:
            destination = self.world.other_node
        self.found.append(Need(Flow(addon, why, source, destination, port, protocol)))

    def _armful_pods(self) -> Iterable[tuple[str, Pod]]:
        return (
            (release, pod) for release, pod in self.world.pods if release != "eks" and not pod.host_network
        )

    def every_pod_needs_dns_and_the_api_server(self) -> None:
        """Every pod resolves names through kube-dns and, with its service account, calls the API server
        at the ``kubernetes`` Service (hook Jobs included: they are API clients)."""
        dns, api = self.world.service("kube-system", "kube-dns"), self.world.service("default", "kubernetes")
        assert dns is not None and api is not None
        for release, pod in self._armful_pods():
            for port in dns.ports:
                self._to_service(release, "name lookups", pod, dns, port)
            self._to_service(release, "the Kubernetes API", pod, api, api.ports[0])

    def _service_target(
        self, addon: str, why: str, source: Pod | Address, service: Service, port: ServicePort
    ) -> None:
        """A caller that resolves the Service's endpoints itself and connects to each (the API server,
        Prometheus): no ClusterIP on the way."""
        backends = self.world.backends(service)
        for backend in backends:
            number = backend.port(port.target, port.protocol) if isinstance(port.target, str) else port.target
            assert number is not None, f"{service.name}: {backend.what} has no port {port.target}"
            self._to(addon, why, source, backend, number, port.protocol)
        for address in service.endpoints:
            self._to(addon, why, source, address, int(port.target), port.protocol)
        assert backends or service.endpoints, (
            f"{addon}: nothing backs Service {service.namespace}/{service.name}"
        )

    def the_control_plane_calls_webhooks(self) -> None:
        """Admission webhooks, CRD conversion webhooks and APIServices name a Service; Kyverno registers
        its webhooks itself for the Service its ``KYVERNO_SVC`` names, on its ``--servicePort``."""
        references: list[tuple[str, str, str, int]] = []
        for kind in ("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"):
            for release, body in self.world.of_kind(kind):
                for webhook in body.get("webhooks") or ():
                    service = (webhook.get("clientConfig") or {}).get("service")
                    if service:
                        references.append(
                            (release, service["namespace"], service["name"], service.get("port", 443))
                        )
        for release, body in self.world.of_kind("APIService"):
            service = body["spec"].get("service")
            if service:
                references.append((release, service["namespace"], service["name"], service.get("port", 443)))
        for release, body in self.world.of_kind("CustomResourceDefinition"):
            webhook = ((body["spec"].get("conversion") or {}).get("webhook") or {}).get("clientConfig") or {}
            if webhook.get("service"):
                service = webhook["service"]
                references.append((release, service["namespace"], service["name"], service.get("port", 443)))
        for release, pod in self._armful_pods():
            env = _env(pod)
            if "KYVERNO_SVC" in env:
                port = next(int(a.split("=")[1]) for a in _arguments(pod) if a.startswith("--servicePort="))
                references.append((release, pod.namespace, env["KYVERNO_SVC"], port))
        for release, namespace, name, number in dict.fromkeys(references):
            service = self.world.service(namespace, name)
            assert service is not None, f"{release}: webhook Service {namespace}/{name} is not rendered"
            port = service.port_named(number)
            assert port is not None, f"{release}: Service {name} has no port {number}"
            self._service_target(
                release, f"the API server calls {name}", self.world.control_plane, service, port
            )

    def _prometheus_selects(
        self, prometheus: Mapping[str, Any], kind: str, monitor: Mapping[str, Any]
    ) -> bool:
        spec = prometheus["spec"]
        selector, namespaces = spec.get(f"{kind}Selector"), spec.get(f"{kind}NamespaceSelector")
        if selector is None:
            return False
        same = monitor["metadata"]["namespace"] == prometheus["metadata"]["namespace"]
        in_namespace = (
            same
            if namespaces is None
            else matches(namespaces, {"kubernetes.io/metadata.name": monitor["metadata"]["namespace"]})
        )
        return in_namespace and matches(selector, monitor["metadata"].get("labels") or {})

    def _monitor_namespaces(self, monitor: Mapping[str, Any]) -> set[str] | None:
        """None: every namespace."""
        chosen = monitor["spec"].get("namespaceSelector") or {}
        if chosen.get("any"):
            return None
        return set(chosen.get("matchNames") or [monitor["metadata"]["namespace"]])

    def prometheus_scrapes_monitors(self) -> None:
        """Each ServiceMonitor and PodMonitor a Prometheus selects: every endpoint it names, on the pod
        (or node, or control-plane ENI) behind it."""
        for _, prometheus in self.world.of_kind("Prometheus"):
            scrapers = [
                pod for pod in self.prometheus if pod.what == f"Prometheus {prometheus['metadata']['name']}"
            ]
            for release, monitor in self.world.of_kind("ServiceMonitor"):
                if not self._prometheus_selects(prometheus, "serviceMonitor", monitor):
                    continue
                namespaces = self._monitor_namespaces(monitor)
                services = [
                    service
                    for _, service in self.world.services
                    if (namespaces is None or service.namespace in namespaces)
                    and matches(monitor["spec"].get("selector") or {}, service.labels)
                ]
                assert services, f"ServiceMonitor {monitor['metadata']['name']} selects no Service"
                for service in services:
                    for endpoint in monitor["spec"].get("endpoints") or ():
                        port = service.port_named(endpoint.get("port") or endpoint.get("targetPort"))
                        assert port is not None, f"{service.name} has no port {endpoint}"
                        for scraper in scrapers:
                            self._service_target(
                                release,
                                f"ServiceMonitor {monitor['metadata']['name']}",
                                scraper,
                                service,
                                port,
                            )
            for release, monitor in self.world.of_kind("PodMonitor"):
                if not self._prometheus_selects(prometheus, "podMonitor", monitor):
                    continue
                namespaces = self._monitor_namespaces(monitor)
                for _, pod in self.world.pods:
                    if (namespaces is None or pod.namespace in namespaces) and matches(
                        monitor["spec"].get("selector") or {}, pod.labels
                    ):
                        for endpoint in monitor["spec"].get("podMetricsEndpoints") or ():
                            number = pod.port(endpoint.get("port"), "TCP")
                            assert number is not None
                            for scraper in scrapers:
                                self._to(
                                    release, f"PodMonitor {monitor['metadata']['name']}", scraper, pod, number
                                )

    def prometheus_scrapes_metrics_ports(self) -> None:
        """A port an add-on names for metrics, and the collector's own telemetry port, are there to be
        scraped: Prometheus must reach them even where no monitor is rendered yet."""
        if not self.prometheus:
            return
        scraper = self.prometheus[0]
        for release, pod in self._armful_pods():
            for port in pod.ports:
                if port.name and "metrics" in port.name:
                    self._to(release, f"metrics port {port.name}", scraper, pod, port.number, port.protocol)
        for release, body in self.world.of_kind("ConfigMap"):
            relay = (body.get("data") or {}).get("relay")
            if relay is None:
                continue
            for reader in yaml.safe_load(relay)["service"]["telemetry"]["metrics"]["readers"]:
                port = reader["pull"]["exporter"]["prometheus"]["port"]
                for pod in self._mounting(release, body):
                    self._to(release, "the collector's own metrics", scraper, pod, int(port))

    def _mounting(self, release: str, config_map: Mapping[str, Any]) -> list[Pod]:
        pods = [
            pod
            for pod in self.world.release_pods(release)
            if config_map["metadata"]["name"] in pod.config_maps
        ]
        assert pods, f"no pod mounts ConfigMap {config_map['metadata']['name']}"
        return pods

    def prometheus_sends_alerts(self) -> None:
        for release, prometheus in self.world.of_kind("Prometheus"):
            sources = [
                pod for pod in self.prometheus if pod.what == f"Prometheus {prometheus['metadata']['name']}"
            ]
            for target in (prometheus["spec"].get("alerting") or {}).get("alertmanagers") or ():
                service = self.world.service(target["namespace"], target["name"])
                assert service is not None
                port = service.port_named(target["port"])
                assert port is not None
                for source in sources:
                    self._service_target(release, "alerts to Alertmanager", source, service, port)

    def alertmanager_replicas_gossip(self) -> None:
        """More than one replica: the operator has them gossip on their mesh port, TCP and UDP."""
        for release, alertmanager in self.world.of_kind("Alertmanager"):
            if (alertmanager["spec"].get("replicas") or 1) < 2:
                continue
            pod = next(
                p
                for p in self.world.release_pods(release)
                if p.what == f"Alertmanager {alertmanager['metadata']['name']}"
            )
            for port in pod.ports:
                if port.name and port.name.startswith("mesh"):
                    self._to(release, "Alertmanager replicas gossip", pod, pod, port.number, port.protocol)

    def _service_at(self, url_or_host: str, namespace: str) -> tuple[Service, int]:
        parts = urlsplit(url_or_host if "://" in url_or_host else f"//{url_or_host}")
        host, port = parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)
        name, _, rest = host.partition(".")
        service = self.world.service(rest.split(".")[0] or namespace, name)
        assert service is not None, f"{url_or_host}: no such Service is rendered"
        return service, port

    def grafana_queries_its_data_sources(self) -> None:
        """Grafana's datasource sidecar loads every ConfigMap with the label its ``LABEL`` names; Grafana
        then calls each data source's URL, through the Service's ClusterIP."""
        label = "grafana_datasource"
        for release, pod in self._armful_pods():
            watches = {
                variable.get("value")
                for container in pod.containers
                for variable in container.get("env") or ()
                if variable["name"] == "LABEL"
            }
            if label not in watches:
                continue
            for _, body in self.world.of_kind("ConfigMap"):
                if label not in (body["metadata"].get("labels") or {}):
                    continue
                for document in (body.get("data") or {}).values():
                    for source in yaml.safe_load(document).get("datasources") or ():
                        service, number = self._service_at(source["url"], pod.namespace)
                        port = service.port_named(number)
                        assert port is not None
                        self._to_service(release, f"data source {source['name']}", pod, service, port)

    def falco_posts_to_its_http_output(self) -> None:
        for release, body in self.world.of_kind("ConfigMap"):
            document = (body.get("data") or {}).get("falco.yaml")
            if document is None:
                continue
            output = yaml.safe_load(document).get("http_output") or {}
            if not output.get("enabled"):
                continue
            service, number = self._service_at(output["url"], body["metadata"]["namespace"])
            port = service.port_named(number)
            assert port is not None
            for pod in self._mounting(release, body):
                self._to_service(release, "Falco's http_output", pod, service, port)

    def collector_receives_and_exports(self) -> None:
        """Applications send OTLP to the collector's Service (or, for the agent, to its host ports); the
        traces pipeline's exporters are where it sends."""
        for release, body in self.world.of_kind("ConfigMap"):
            relay = (body.get("data") or {}).get("relay")
            if relay is None:
                continue
            config = yaml.safe_load(relay)
            collectors = self._mounting(release, body)
            for _, service in self.world.services:
                backends = self.world.backends(service)
                if not any(pod in collectors for pod in backends):
                    continue
                for port in service.ports:
                    if port.name and port.name.startswith("otlp"):
                        self._to_service(release, f"OTLP in ({port.name})", APPLICATION, service, port)
            for pod in collectors:
                for container in pod.containers:
                    for port in container.get("ports") or ():
                        if port.get("hostPort"):
                            self._to(
                                release,
                                f"OTLP in on host port {port['hostPort']}",
                                APPLICATION,
                                pod,
                                port["containerPort"],
                            )
            for exporter in config["service"]["pipelines"]["traces"]["exporters"]:
                settings = config["exporters"].get(exporter) or {}
                for pod in collectors:
                    if exporter.startswith("awsxray"):
                        self._to(release, "X-Ray", pod, AWS_API, 443)
                    elif "endpoint" in settings:
                        endpoint = settings["endpoint"]
                        rest = endpoint.split("://", 1)[-1]
                        port = int(rest.rsplit(":", 1)[1]) if re.search(r":\d+$", rest) else 4317
                        self._to(release, f"OTLP out to {endpoint}", pod, INTERNET, port)
                        cluster_ip = Address(f"the ClusterIP of {endpoint}", SERVICE_RANGE[999])
                        self._to(release, f"OTLP out to {endpoint} in the cluster", pod, cluster_ip, port)

    def pod_identity_users_call_aws(self) -> None:
        """A pod of a service account with a Pod Identity association gets credentials from the agent on
        its node and calls AWS with them (the load balancer controller, Fluent Bit, the collector)."""
        for release in self.plan.releases:
            if release.pod_identity is None:
                continue
            users = [
                pod
                for pod in self.world.release_pods(release.spec.release)
                if pod.service_account == release.pod_identity.service_account
            ]
            assert users, f"{release.spec.release}: no pod runs as {release.pod_identity.service_account}"
            for pod in users:
                self._to(release.spec.release, "credentials", pod, POD_IDENTITY_AGENT, 80)
                self._to(release.spec.release, "AWS APIs", pod, AWS_API, 443)

    def cert_manager_solves_acme_challenges(self) -> None:
        """cert-manager's controller (the pod given the ACME solver image) talks to ACME servers, checks
        HTTP-01 challenges itself over HTTP and DNS-01 ones against the zone's nameservers (its docs:
        ``--dns01-recursive-nameservers-only`` is off by default)."""
        for release, pod in self._armful_pods():
            if not any(argument.startswith("--acme-http01-solver-image") for argument in _arguments(pod)):
                continue
            self._to(release, "an ACME server", pod, INTERNET, 443)
            self._to(release, "HTTP-01 self-check", pod, INTERNET, 80)
            self._to(release, "DNS-01 check", pod, INTERNET, 53, "UDP")
            self._to(release, "DNS-01 check", pod, INTERNET, 53, "TCP")

    def metrics_server_reads_kubelets(self) -> None:
        """metrics-server's flags for how to reach each kubelet mark the pod that calls them."""
        for release, pod in self._armful_pods():
            arguments = _arguments(pod)
            if any(argument.startswith("--kubelet-preferred-address-types") for argument in arguments):
                given = [int(a.split("=")[1]) for a in arguments if a.startswith("--kubelet-port=")]
                self._to(
                    release,
                    "kubelets' resource metrics",
                    pod,
                    self.world.other_node,
                    (given or [KUBELET_PORT])[0],
                )

    def registries_and_indexes(self) -> None:
        """Kyverno's controllers read image registries (``--registryCredentialHelpers``); falcoctl follows
        the artifact indexes its config lists over HTTPS."""
        for release, pod in self._armful_pods():
            if any(argument.startswith("--registryCredentialHelpers") for argument in _arguments(pod)):
                self._to(release, "image registries", pod, INTERNET, 443)
        for release, body in self.world.of_kind("ConfigMap"):
            document = (body.get("data") or {}).get("falcoctl.yaml")
            if document is None:
                continue
            for index in yaml.safe_load(document).get("indexes") or ():
                port = urlsplit(index["url"]).port or 443
                for pod in self._mounting(release, body):
                    self._to(release, f"falcoctl index {index['name']}", pod, INTERNET, port)
