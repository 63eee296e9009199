"""``Network``: a VPC for an EKS cluster, private subnets for nodes and public ones for load balancers.

No ``from __future__ import annotations`` here: Pulumi's component analyzer reads these annotations at
run time to infer the package schema (``plugin/``), so they must be real types, not strings.
"""

from collections.abc import Mapping, Sequence
from typing import Any, NotRequired, TypedDict

import pulumi
import pulumi_aws as aws
from pydantic import ValidationError

from armful.core.config import NetworkConfig
from armful.core.errors import CONFIG_NAMESPACE, ConfigIssue, issues_from_pydantic
from armful.core.network_layout import (
    EKS_UNSUPPORTED_ZONE_IDS,
    STANDARD_ZONES_FILTER,
    choose_zones,
    subnet_layout,
)
from armful.planning.component_args import ArgsError, cluster_name_issues, unknown_arg_issues
from armful.run_errors import armful_errors, refusing


class NetworkArgs(TypedDict):
    cluster_name: str
    """The EKS cluster's name, for the subnet tags the load balancer controller discovers subnets by."""
    cidr: NotRequired[str]
    """A VPC Armful creates: its IPv4 block, /16 to /20 (default 10.0.0.0/16)."""
    availability_zones: NotRequired[int]
    """A VPC Armful creates: how many AZs, 2 to 6 (default 3)."""
    single_nat_gateway: NotRequired[bool]
    """A VPC Armful creates: one NAT gateway for all AZs, cheaper but one AZ's outage cuts egress."""
    zone_ids: NotRequired[Sequence[str]]
    """A VPC Armful creates: the AZ IDs of its subnets, in order, such as usw2-az1 (default: the region's first standard AZs EKS supports, by name, whatever their state); the count is availabilityZones."""
    private_subnet_tags: NotRequired[Mapping[str, str]]
    """More tags on the private subnets, such as karpenter.sh/discovery for Karpenter to find them."""


class Network(pulumi.ComponentResource):
    """A VPC for an EKS cluster: in each AZ a private subnet for nodes and a public one for load balancers, tagged for the AWS Load Balancer Controller, with a NAT gateway per AZ unless one is asked for."""

    vpc_id: pulumi.Output[str]
    """The VPC's id."""
    private_subnet_ids: pulumi.Output[list[str]]
    """Private subnets, one per AZ, where nodes run."""
    public_subnet_ids: pulumi.Output[list[str]]
    """Public subnets, one per AZ, for internet-facing load balancers and NAT gateways."""
    zone_ids: pulumi.Output[list[str]]
    """The AZ IDs of the subnets, in order: give them as zoneIds to keep exactly these zones."""

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        # Validation first: wrong args register nothing, not even this component.
        with armful_errors():
            config = network_config(args)
        super().__init__("armful:index:Network", name, None, opts)
        zone_count = config.availability_zones
        cidr = config.cidr
        layout = subnet_layout(cidr, zone_count)
        cluster_tag = {f"kubernetes.io/cluster/{args['cluster_name']}": "shared"}
        child = pulumi.ResourceOptions(parent=self)

        # Each zone as its subnets' args name it: by ID when given, else by the name chosen below.
        zone_args: list[dict[str, Any]]
        if config.zone_ids:
            # The zones given, by ID: nothing is looked up, so nothing a region reports can move them.
            chosen_ids: pulumi.Output[list[str]] = pulumi.Output.from_input(list(config.zone_ids))
            zone_args = [{"availability_zone_id": zone_id} for zone_id in config.zone_ids]
        else:
            # Standard AZs where EKS can place the cluster: the provider leaves out the others, and
            # choose_zones checks again and fails with the fix when the region has too few. Whatever
            # their state: a zone that is impaired while this runs is still the zone the subnets were
            # made in, and asking for available zones only would move every later subnet to another.
            zones = aws.get_availability_zones_output(
                exclude_zone_ids=list(EKS_UNSUPPORTED_ZONE_IDS),
                filters=[STANDARD_ZONES_FILTER],
                opts=pulumi.InvokeOutputOptions(parent=self),
            )

            def choose(found: list[list[str]]) -> list[tuple[str, str]]:
                names, ids = found
                by_name = dict(zip(names, ids, strict=True))
                return [
                    (zone, by_name[zone]) for zone in choose_zones(names, ids, zone_count, f"Network {name}")
                ]

            chosen = pulumi.Output.all(zones.names, zones.zone_ids).apply(refusing(choose))
            chosen_ids = chosen.apply(lambda pairs: [zone_id for _, zone_id in pairs])
            zone_args = [
                {"availability_zone": chosen.apply(lambda pairs, i=index: pairs[i][0])}
                for index in range(zone_count)
            ]
        vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=str(cidr),
            enable_dns_hostnames=True,
            enable_dns_support=True,
            tags={"Name": f"{args['cluster_name']}-vpc"},
            opts=child,
        )
        # Created with vpc_id, the gateway is created once attached to the VPC (the provider waits for the
        # attachment): what waits for it waits for the attachment.
        gateway = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=vpc.id, opts=child)
        after_gateway = pulumi.ResourceOptions(parent=self, depends_on=[gateway])
        public_routes = aws.ec2.RouteTable(
            f"{name}-public",
            vpc_id=vpc.id,
            routes=[{"cidr_block": "0.0.0.0/0", "gateway_id": gateway.id}],
            opts=child,
        )

        public_subnets, private_subnets, nat_gateways = [], [], []
        # What a node needs to reach EKS and pull images: its subnet's route through NAT, the NAT
        # gateway's own route through the internet gateway.
        self.egress: list[pulumi.Resource] = [public_routes]
        for index in range(zone_count):
            public = aws.ec2.Subnet(
                f"{name}-public-{index}",
                vpc_id=vpc.id,
                cidr_block=str(layout.public[index]),
                **zone_args[index],
                tags={
                    **cluster_tag,
                    "kubernetes.io/role/elb": "1",
                    "Name": f"{args['cluster_name']}-public-{index}",
                },
                opts=child,
            )
            self.egress.append(
                aws.ec2.RouteTableAssociation(
                    f"{name}-public-{index}", subnet_id=public.id, route_table_id=public_routes.id, opts=child
                )
            )
            if index == 0 or not config.single_nat_gateway:
                # A public NAT gateway (and its address) needs the internet gateway attached first.
                address = aws.ec2.Eip(f"{name}-nat-{index}", domain="vpc", opts=after_gateway)
                nat_gateways.append(
                    aws.ec2.NatGateway(
                        f"{name}-nat-{index}",
                        subnet_id=public.id,
                        allocation_id=address.id,
                        opts=after_gateway,
                    )
                )
            private = aws.ec2.Subnet(
                f"{name}-private-{index}",
                vpc_id=vpc.id,
                cidr_block=str(layout.private[index]),
                **zone_args[index],
                tags={
                    **cluster_tag,
                    **args.get("private_subnet_tags", {}),
                    "kubernetes.io/role/internal-elb": "1",
                    "Name": f"{args['cluster_name']}-private-{index}",
                },
                opts=child,
            )
            private_routes = aws.ec2.RouteTable(
                f"{name}-private-{index}",
                vpc_id=vpc.id,
                routes=[{"cidr_block": "0.0.0.0/0", "nat_gateway_id": nat_gateways[-1].id}],
                opts=child,
            )
            self.egress += [
                private_routes,
                aws.ec2.RouteTableAssociation(
                    f"{name}-private-{index}",
                    subnet_id=private.id,
                    route_table_id=private_routes.id,
                    opts=child,
                ),
            ]
            public_subnets.append(public)
            private_subnets.append(private)

        self.vpc_id = vpc.id
        self.private_subnet_ids = pulumi.Output.all(*[subnet.id for subnet in private_subnets])
        self.public_subnet_ids = pulumi.Output.all(*[subnet.id for subnet in public_subnets])
        self.zone_ids = chosen_ids
        self.register_outputs(
            {
                "vpc_id": self.vpc_id,
                "private_subnet_ids": self.private_subnet_ids,
                "public_subnet_ids": self.public_subnet_ids,
                "zone_ids": self.zone_ids,
            }
        )


_ZONES_FIX = "give a whole number from 2 to 6: EKS needs subnets in two AZs at least, the subnet layout has room for six"


def network_config(args: NetworkArgs | Mapping[str, Any]) -> NetworkConfig:
    """Validate Network's args with stack config's network model; raises ArgsError naming each arg."""
    issues = unknown_arg_issues("Network", args, NetworkArgs.__annotations__, "availability_zones")
    issues += cluster_name_issues(args, ", which the subnets' discovery tags carry")
    # Given by field name, the model's errors name the field: the arg's own snake_case name.
    fields = {
        key: args[key]
        for key in ("cidr", "availability_zones", "single_nat_gateway", "zone_ids")
        if key in args
    }
    config = None
    try:
        config = NetworkConfig.model_validate(fields)
    except ValidationError as error:
        for issue in issues_from_pydantic(error):
            arg = issue.path.removeprefix(f"{CONFIG_NAMESPACE}:")
            fix = _ZONES_FIX if arg == "availability_zones" else issue.fix
            issues.append(ConfigIssue(arg, issue.problem, fix))
    if issues or config is None:
        raise ArgsError(issues, component="Network")
    return config
