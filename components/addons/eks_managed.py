"""The EKS managed add-ons, declared as workloads like the Helm add-ons', so the plan places and proves them.

vpc-cni (``aws-node``) and kube-proxy are created with the cluster by ``pulumi_eks.Cluster``; Armful
installs coredns, eks-pod-identity-agent and aws-ebs-csi-driver itself. Every one runs the version named
under its key in ``armful:addons`` or, by default, EKS's default version for the cluster's Kubernetes
version, never the newest (which moves whenever AWS publishes one). Only CoreDNS and the EBS CSI
driver take placement through their configuration values: CoreDNS and the EBS CSI controller are
controllers and go to the system pool, the EBS CSI node DaemonSet must reach every pool so that volumes
attach wherever a pod lands. The other DaemonSets' manifests tolerate every taint on their own.

EKS pulls every add-on image from its own regional registry, where each add-on version is published
for amd64 and arm64 alike; their tags follow the add-on version EKS picks, so they are named here by
what they are, not by a tag a registry could be asked about.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from armful.addons.context import AddonContext
from armful.addons.namespaces import KUBE_SYSTEM
from armful.addons.spec import ManagedAddonOptions, ManagedAddonVersion, PodIdentity
from armful.placement.workloads import (
    Image,
    PlacementKeys,
    Resources,
    ResourcesOverride,
    Workload,
    WorkloadKind,
    on_both_arches,
)


@dataclass(frozen=True)
class ManagedAddonSpec:
    name: str
    """The EKS add-on's name, as the EKS API and placement show it."""
    workloads: tuple[Workload, ...]
    summary: str
    key: str
    """Its key under ``armful:addons``: its version, and its configuration values where they can be overridden."""
    cluster_version_arg: str | None = None
    """For an add-on ``pulumi_eks.Cluster`` creates itself (modelled here, never installed by Armful): the
    cluster arg that takes its version."""
    values: Callable[[AddonContext], dict[str, Any]] = field(default=lambda context: {})
    """Configuration values Armful sets, placement excluded."""
    pod_identity: PodIdentity | None = None
    needs_nodes: bool = False
    """Its controllers must have nodes to run on, or EKS reports the add-on degraded."""
    needs: tuple[str, ...] = ()
    """Managed add-ons that must be installed first."""
    namespace: str = KUBE_SYSTEM
    options: type[ManagedAddonVersion] | type[ManagedAddonOptions] = ManagedAddonVersion
    """``armful:addons.<key>``: a version to pin, and with ManagedAddonOptions overrides of its
    configuration values (it cannot be turned off)."""

    @property
    def installed_with_cluster(self) -> bool:
        return self.cluster_version_arg is not None

    @property
    def release(self) -> str:
        """The name placement entries and findings give it, as they give a Helm release's."""
        return self.name


def eks_image(name: str) -> Image:
    return Image(f"<EKS add-on registry>/eks/{name}", "<add-on version>")


# What EKS's own DaemonSet manifests set: every taint tolerated, Linux nodes of either arch, and none of
# the node kinds EKS runs elsewhere (Fargate, hybrid, Auto Mode).
_EKS_DAEMONSET_POD = {
    "tolerations": [{"operator": "Exists"}],
    "affinity": {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [
                    {
                        "matchExpressions": [
                            {"key": "kubernetes.io/os", "operator": "In", "values": ["linux"]},
                            {"key": "kubernetes.io/arch", "operator": "In", "values": ["amd64", "arm64"]},
                            {
                                "key": "eks.amazonaws.com/compute-type",
                                "operator": "NotIn",
                                "values": ["fargate", "hybrid", "auto"],
                            },
                        ]
                    }
                ]
            }
        }
    },
}
# Keys none of which Armful writes: the manifest alone decides where these pods go.
_FIXED = PlacementKeys(
    node_selector=None,
    tolerations=None,
    affinity=None,
    resources=None,
    replicas=None,
    priority_class=None,
    topology_spread=None,
)
# CoreDNS and the EBS CSI driver run with EKS's own priority classes and requests; Armful sets their
# placement and replicas only.
_CONTROLLER = PlacementKeys(resources=None, priority_class=None, topology_spread=None)


def _eks_daemonset(name: str, requests: Resources) -> Workload:
    return Workload(
        name=name,
        kind=WorkloadKind.DAEMONSET,
        images=(eks_image(name),),
        keys=_FIXED,
        resources=on_both_arches(requests),
        manifest_pod=_EKS_DAEMONSET_POD,
    )


# What each add-on's pods request, every container together, as their published manifests set it
# (the same on both arches). aws-node: 25m for each of aws-node and aws-eks-nodeagent, no memory
# (aws/amazon-vpc-cni-k8s charts/aws-vpc-cni/values.yaml). kube-proxy: 100m, no memory (the EKS
# add-on's DaemonSet). eks-pod-identity-agent: no requests (aws/eks-pod-identity-agent chart). CoreDNS:
# 100m / 70Mi (the EKS add-on's Deployment). EBS CSI (kubernetes-sigs/aws-ebs-csi-driver chart 2.57+):
# the controller's ebs-plugin, provisioner, attacher, snapshotter and resizer 10m / 40Mi each and its
# liveness probe 10m / 32Mi; the node's ebs-plugin 10m / 40Mi, registrar and liveness probe 10m / 32Mi each.
AWS_NODE_REQUESTS = Resources(cpu="50m", memory="0")
KUBE_PROXY_REQUESTS = Resources(cpu="100m", memory="0")
POD_IDENTITY_AGENT_REQUESTS = Resources(cpu="0", memory="0")
COREDNS_REQUESTS = Resources(cpu="100m", memory="70Mi", memory_limit="170Mi")
EBS_CSI_CONTROLLER_REQUESTS = Resources(cpu="60m", memory="232Mi")
EBS_CSI_NODE_REQUESTS = Resources(cpu="30m", memory="104Mi")


POD_IDENTITY_AGENT = "eks-pod-identity-agent"
EBS_CSI_SERVICE_ACCOUNT = "ebs-csi-controller-sa"
EBS_CSI_POLICY = "service-role/AmazonEBSCSIDriverPolicy"


def _vpc_cni_values(context: AddonContext) -> dict[str, Any]:
    """The network policy agent (the aws-eks-nodeagent container of every aws-node pod, VPC CNI 1.14 and
    later) enforces NetworkPolicies only when this is on; EKS runs the policy controller itself. It needs
    kernel 5.10 and a mounted BPF file system, which AL2023 and Bottlerocket have on both arches. Pods
    start in its standard mode, allowed everything until their policies are in place."""
    return {"enableNetworkPolicy": "true"} if context.network_policies else {}


VPC_CNI = ManagedAddonSpec(
    name="vpc-cni",
    key="vpcCni",
    workloads=(_eks_daemonset("aws-node", AWS_NODE_REQUESTS),),
    summary="pod networking (aws-node on every node)",
    cluster_version_arg="vpc_cni_options.addon_version",
    values=_vpc_cni_values,
)
KUBE_PROXY = ManagedAddonSpec(
    name="kube-proxy",
    key="kubeProxy",
    workloads=(_eks_daemonset("kube-proxy", KUBE_PROXY_REQUESTS),),
    summary="Service routing on every node",
    cluster_version_arg="kube_proxy_addon_options.version",
)
POD_IDENTITY = ManagedAddonSpec(
    name=POD_IDENTITY_AGENT,
    key="eksPodIdentityAgent",
    workloads=(_eks_daemonset(POD_IDENTITY_AGENT, POD_IDENTITY_AGENT_REQUESTS),),
    summary="AWS credentials for pods through EKS Pod Identity",
)
COREDNS = ManagedAddonSpec(
    name="coredns",
    key="coredns",
    workloads=(
        Workload(
            name="coredns",
            kind=WorkloadKind.DEPLOYMENT,
            images=(eks_image("coredns"),),
            keys=_CONTROLLER,
            resources=on_both_arches(COREDNS_REQUESTS),
            resources_override=ResourcesOverride(("resources",)),
            replicas=2,
        ),
    ),
    summary="cluster DNS",
    needs_nodes=True,
    options=ManagedAddonOptions,
)
EBS_CSI_DRIVER = ManagedAddonSpec(
    name="aws-ebs-csi-driver",
    key="awsEbsCsiDriver",
    workloads=(
        Workload(
            name="ebs-csi-controller",
            kind=WorkloadKind.DEPLOYMENT,
            images=(eks_image("aws-ebs-csi-driver"),),
            path=("controller",),
            keys=_CONTROLLER,
            resources=on_both_arches(EBS_CSI_CONTROLLER_REQUESTS),
            # controller.resources is the plugin's and, in chart 2.57+, each sidecar's but the liveness probe's.
            resources_override=ResourcesOverride(
                ("controller", "resources"), containers=5, others=Resources(cpu="10m", memory="32Mi")
            ),
            replicas=2,
        ),
        Workload(
            name="ebs-csi-node",
            kind=WorkloadKind.DAEMONSET,
            images=(eks_image("aws-ebs-csi-driver"),),
            path=("node",),
            keys=replace(_FIXED, tolerations="tolerations", tolerate_all="tolerateAllTaints"),
            resources=on_both_arches(EBS_CSI_NODE_REQUESTS),
            # node.resources is the plugin's; the registrar and the liveness probe keep 10m / 32Mi each.
            resources_override=ResourcesOverride(
                ("node", "resources"), others=Resources(cpu="20m", memory="64Mi")
            ),
        ),
    ),
    summary="EBS volumes (Prometheus and Alertmanager claim them)",
    pod_identity=PodIdentity(EBS_CSI_SERVICE_ACCOUNT, managed_policies=(EBS_CSI_POLICY,)),
    needs_nodes=True,
    options=ManagedAddonOptions,
    # Its controller gets AWS credentials from Pod Identity, which the agent serves on each node.
    needs=(POD_IDENTITY_AGENT,),
)

MANAGED_ADDONS: tuple[ManagedAddonSpec, ...] = (VPC_CNI, KUBE_PROXY, POD_IDENTITY, COREDNS, EBS_CSI_DRIVER)
"""In the order they are installed: each after every add-on it needs."""
