"""A program of your own: an EKS cluster from pulumi_eks, node groups named and tainted your way, and
Armful's add-ons placed for them.

Armful is used as a package (``pip install -e <armful>``, see requirements.txt). ClusterAddons gets the
cluster's Kubernetes provider and a description of the pools as their nodes carry them; it sends every
controller to the pool described as the system pool and lets every node agent reach both pools.

Config: ``vpcId``, ``privateSubnetIds`` and ``aws:region``.
"""

import json

import pulumi
import pulumi_aws as aws
import pulumi_eks as eks
import pulumi_kubernetes as k8s

from armful.cluster_addons import ClusterAddons, eks_taints

CLUSTER_NAME = "shop"
NODE_POLICIES = ("AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy", "AmazonEC2ContainerRegistryPullOnly")

# Each pool described once, the way its nodes carry it: the node groups and ClusterAddons both read this.
# Armful's controllers select node.armful.dev/role: system, so the system pool carries that label.
PLATFORM = {
    "name": "platform",
    "role": "system",
    "arch": "amd64",
    "labels": {"node.armful.dev/role": "system", "example.com/tier": "platform"},
    "taints": [{"key": "example.com/dedicated", "value": "platform", "effect": "NoSchedule"}],
}
APPS = {
    "name": "apps",
    "role": "workers",
    "arch": "arm64",
    "labels": {"example.com/tier": "apps"},
    "taints": [{"key": "example.com/capacity", "value": "spot", "effect": "NoSchedule"}],
}

config = pulumi.Config()
vpc_id = config.require("vpcId")
subnet_ids = config.require_object("privateSubnetIds")

node_role = aws.iam.Role(
    "shop-nodes",
    assume_role_policy=json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
            ],
        }
    ),
)
node_policies = [
    aws.iam.RolePolicyAttachment(
        f"shop-nodes-{policy}", role=node_role.name, policy_arn=f"arn:aws:iam::aws:policy/{policy}"
    )
    for policy in NODE_POLICIES
]

cluster = eks.Cluster(
    "shop",
    name=CLUSTER_NAME,
    vpc_id=vpc_id,
    private_subnet_ids=subnet_ids,
    endpoint_private_access=True,
    authentication_mode=eks.AuthenticationMode.API,
    skip_default_node_group=True,
)
# Fluent Bit, the load balancer controller and the collector get AWS credentials from EKS Pod Identity.
pod_identity_agent = aws.eks.Addon(
    "shop-pod-identity-agent",
    cluster_name=CLUSTER_NAME,
    addon_name="eks-pod-identity-agent",
    opts=pulumi.ResourceOptions(depends_on=[cluster]),
)


def node_group(description: dict, instance_types: list[str], ami_type: str) -> eks.ManagedNodeGroup:
    return eks.ManagedNodeGroup(
        description["name"],
        cluster=cluster,
        node_role=node_role,
        instance_types=instance_types,
        ami_type=ami_type,
        labels=description["labels"],
        taints=eks_taints(description),
        scaling_config={"min_size": 2, "desired_size": 2, "max_size": 6},
        subnet_ids=subnet_ids,
        # Nodes that join before the role has its policies fail to register.
        opts=pulumi.ResourceOptions(depends_on=node_policies),
    )


platform_nodes = node_group(PLATFORM, ["m7i.large"], "AL2023_x86_64_STANDARD")
app_nodes = node_group(APPS, ["m8g.xlarge", "m7g.xlarge"], "AL2023_ARM_64_STANDARD")

provider = k8s.Provider("shop", kubeconfig=cluster.kubeconfig_json, enable_server_side_apply=True)

addons = ClusterAddons(
    "shop-addons",
    {
        "cluster_name": CLUSTER_NAME,
        "vpc_id": vpc_id,
        "kubernetes_provider": provider,
        "topology": "arm-workers",
        "pools": [PLATFORM, APPS],
        # Same shape as a stack's armful:addons. This cluster has no EBS CSI driver, so it leaves out the
        # add-on whose Prometheus and Alertmanager need volumes.
        "addons": {"kubePrometheusStack": {"enabled": False}},
    },
    # The releases wait for nodes to land on, and for the agent that hands their pods AWS credentials.
    opts=pulumi.ResourceOptions(depends_on=[platform_nodes, app_nodes, pod_identity_agent]),
)

pulumi.export("kubeconfig", pulumi.Output.secret(cluster.kubeconfig_json))
pulumi.export("releases", addons.release_names)
pulumi.export("placement", addons.placement)
