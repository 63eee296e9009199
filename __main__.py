"""The Armful stack program: read the stack's config, validate it, build the cluster, export outputs."""

import pulumi

from armful.arm_cluster import ArmCluster
from armful.pulumi_config import read_stack_args

cluster = ArmCluster("armful", read_stack_args())

pulumi.export("clusterName", cluster.cluster_name)
pulumi.export("endpoint", cluster.endpoint)
pulumi.export("kubeconfig", cluster.kubeconfig)
pulumi.export("oidcProviderArn", cluster.oidc_provider_arn)
pulumi.export("oidcProviderUrl", cluster.oidc_provider_url)
pulumi.export("pools", cluster.pools)
# The AZs the VPC's subnets are in: set them as armful:network.zoneIds to keep exactly these.
pulumi.export("zoneIds", cluster.zone_ids)
# Secret: the password set with --secret, or the one Armful generated (pulumi stack output --show-secrets).
pulumi.export("grafanaAdminPassword", pulumi.Output.secret(cluster.grafana_admin_password))
