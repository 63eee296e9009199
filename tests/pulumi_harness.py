"""Run a Pulumi program under ``pulumi.runtime.set_mocks`` and record what it registers (design §8).

Every test gets a fresh event loop whose default executor runs inline: passing a resource into a
remote component (``ManagedNodeGroup(cluster=...)``) otherwise hangs or lands on another loop.

Each registration keeps its URN, its parent's URN and the URNs it depends on, as the engine would get
them (``RecordingMonitor`` reads the register request, which ``Mocks.new_resource`` never sees): the
mock monitor neither rejects a duplicate URN nor orders anything, so tests check both from these.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
from ec2_catalog import ec2_instance_types
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime.mocks import MockMonitor
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from armful.core.arch import Arch, arch_of_instance_type
from armful.core.instance_catalog import instance_type as instance_type_figures

# The account every mocked ARN and the caller's identity name.
ACCOUNT_ID = "111122223333"
NO_DEPLOY_RENDER_KEY = "armful:charts"
NO_DEPLOY_RENDER = {"renderAtDeploy": False}
CALLER_ARN = f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/platform-admin/armful-tests"
"""Who runs the programs: a session of the admin role the example stacks list, as a deployer is."""


class ImmediateExecutor(concurrent.futures.ThreadPoolExecutor):
    """asyncio insists on a ThreadPoolExecutor; this one never starts a thread."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> concurrent.futures.Future:
        future: concurrent.futures.Future = concurrent.futures.Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as error:
            future.set_exception(error)
        return future


@dataclass
class Registration:
    type: str
    name: str
    inputs: dict[str, Any]
    provider: str | None
    custom: bool | None
    urn: str = ""
    parent: str = ""
    """The parent's URN (the stack's for a top-level resource)."""
    dependencies: tuple[str, ...] = ()
    """The URNs this resource waits for: ``depends_on`` (a local component expanded to its
    descendants) and the resources its inputs came from."""


class UnknownInvokeError(AssertionError):
    """The program called a function the mocks do not answer: a wrong token must not pass silently."""


@dataclass
class RecordingMocks(pulumi.runtime.Mocks):
    """Answers every registration and invoke the programs make, and keeps what they asked for."""

    ec2_architectures: Mapping[str, list[str]] = field(default_factory=dict)
    ec2_figures: Mapping[str, tuple[int, int]] = field(default_factory=dict)
    """(vCPUs, memory MiB) getInstanceType answers for a type, where a test wants EC2 to differ."""
    availability_zones: Mapping[str, str] = field(
        default_factory=lambda: {
            "us-west-2a": "usw2-az1",
            "us-west-2b": "usw2-az2",
            "us-west-2c": "usw2-az3",
            "us-west-2d": "usw2-az4",
        }
    )
    """What getAvailabilityZones answers (name → zone ID), as given: the program must filter it."""
    impaired_zones: frozenset[str] = frozenset()
    """Zone names whose state is impaired: EC2 leaves them out when asked for ``state: available``."""
    ami_release: str = "20260401"
    """The AMI release EKS publishes today: AL2023's release is ``<kubernetes>.0-<this>``, Bottlerocket's
    ``1.55.0-<this>``."""
    vpc_cidr_blocks: tuple[str, ...] = ("10.0.0.0/16", "100.64.0.0/16")
    """What getVpc answers for any VPC: its primary IPv4 block, then a secondary one."""
    registrations: list[Registration] = field(default_factory=list)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    unknown_invokes: list[str] = field(default_factory=list)

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.registrations.append(
            Registration(args.typ, args.name, dict(args.inputs), args.provider, args.custom)
        )
        outputs = dict(args.inputs)
        outputs.update(_extra_outputs(args.typ, args.name, args.inputs))
        return f"{args.name}-id", outputs

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        self.calls.append((args.token, dict(args.args)))
        token = args.token
        if token == "aws:index/getPartition:getPartition":
            return {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws"}, []
        if token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {
                "accountId": ACCOUNT_ID,
                "arn": CALLER_ARN,
                "userId": "AROAARMFULTESTS:armful-tests",
                "id": ACCOUNT_ID,
            }, []
        if token == "aws:index/getRegion:getRegion":
            # Only asked where no aws:region is configured.
            return {
                "name": "us-west-2",
                "region": "us-west-2",
                "description": "us-west-2",
                "id": "us-west-2",
            }, []
        if token == "aws:index/getAvailabilityZones:getAvailabilityZones":
            zones = {
                name: zone_id
                for name, zone_id in self.availability_zones.items()
                if args.args.get("state") != "available" or name not in self.impaired_zones
            }
            return {"names": list(zones), "zoneIds": list(zones.values()), "id": "azs"}, []
        if token == "aws:ssm/getParameter:getParameter":
            name = args.args["name"]
            value = self._published_release(name)
            if value is None:
                self.unknown_invokes.append(f"{token} {name}")
                raise UnknownInvokeError(_unknown_message([f"{token} {name}"]))
            return {"name": name, "value": value, "insecureValue": value, "type": "String", "id": name}, []
        if token == "aws:ec2/getInstanceType:getInstanceType":
            instance_type = args.args["instanceType"]
            return {
                "instanceType": instance_type,
                "supportedArchitectures": self._architectures(instance_type),
                **self._figures(instance_type),
            }, []
        if token == "aws:eks/getCluster:getCluster":
            cluster = args.args["name"]
            return {
                "name": cluster,
                "id": cluster,
                "vpcConfig": {"clusterSecurityGroupId": f"sg-eks-{cluster}"},
            }, []
        if token == "aws:ec2/getVpc:getVpc":
            # A VPC with a secondary block: NetworkPolicies must admit both.
            return {
                "id": args.args["id"],
                "cidrBlock": self.vpc_cidr_blocks[0],
                "cidrBlockAssociations": [
                    {"associationId": f"vpc-cidr-assoc-{index}", "cidrBlock": cidr, "state": "associated"}
                    for index, cidr in enumerate(self.vpc_cidr_blocks)
                ],
            }, []
        if token == "aws:eks/getAddonVersion:getAddonVersion":
            # EKS answers its default version for the Kubernetes version, or the newest with mostRecent.
            which = "latest" if args.args.get("mostRecent") else "default"
            addon, kubernetes = args.args["addonName"], args.args["kubernetesVersion"]
            return {"addonName": addon, "version": addon_version_answer(addon, kubernetes, which)}, []
        self.unknown_invokes.append(token)
        raise UnknownInvokeError(_unknown_message([token]))

    def _published_release(self, parameter: str) -> str | None:
        """The public parameters EKS documents for the newest AMI release of an AMI type and Kubernetes
        version; any other name is a mistake."""
        al2023 = re.fullmatch(
            r"/aws/service/eks/optimized-ami/(\d+\.\d+)/amazon-linux-2023/(x86_64|arm64)/standard/recommended/"
            r"release_version",
            parameter,
        )
        if al2023:
            return f"{al2023.group(1)}.0-{self.ami_release}"
        if re.fullmatch(
            r"/aws/service/bottlerocket/aws-k8s-\d+\.\d+/(x86_64|arm64)/latest/image_version", parameter
        ):
            return f"1.55.0-{self.ami_release}"
        return None

    def _architectures(self, instance_type: str) -> list[str]:
        if instance_type in self.ec2_architectures:
            return list(self.ec2_architectures[instance_type])
        arch = arch_of_instance_type(instance_type)
        return {Arch.ARM64: ["arm64"], Arch.AMD64: ["i386", "x86_64"], None: []}[arch]

    def _figures(self, instance_type: str) -> dict[str, int]:
        """EC2's vCPUs and memory for the type, from moto's copy of its catalog (else Armful's own)."""
        if instance_type in self.ec2_figures:
            vcpus, memory = self.ec2_figures[instance_type]
            return {"defaultVcpus": vcpus, "memorySize": memory}
        described = (ec2_instance_types() or {}).get(instance_type)
        if described is not None:
            return {
                "defaultVcpus": described["VCpuInfo"]["DefaultVCpus"],
                "memorySize": described["MemoryInfo"]["SizeInMiB"],
            }
        known = instance_type_figures(instance_type)
        return {} if known is None else {"defaultVcpus": known.vcpus, "memorySize": known.memory_mib}

    def of_type(self, type_: str) -> list[Registration]:
        return [r for r in self.registrations if r.type == type_]

    def one(self, type_: str, name: str | None = None) -> Registration:
        found = [r for r in self.of_type(type_) if name is None or r.name == name]
        assert len(found) == 1, f"expected one {type_} {name or ''}, found {[r.name for r in found]}"
        return found[0]

    def by_urn(self) -> dict[str, Registration]:
        return {r.urn: r for r in self.registrations}

    def duplicate_urns(self) -> list[str]:
        """URNs registered more than once: the engine rejects the second registration of each."""
        counts = Counter(r.urn for r in self.registrations)
        return sorted(urn for urn, count in counts.items() if count > 1)

    def waits_for(self, later: Registration, earlier: Registration) -> bool:
        """Whether ``later`` is created after ``earlier``: a path of dependencies leads from one to the other."""
        graph = self.by_urn()
        pending, seen = [later.urn], set()
        while pending:
            urn = pending.pop()
            if urn == earlier.urn and urn != later.urn:
                return True
            if urn in seen or urn not in graph:
                continue
            seen.add(urn)
            pending += graph[urn].dependencies
        return False


def addon_version_answer(addon: str, kubernetes_version: str, which: str = "default") -> str:
    """What the mocks answer for an EKS add-on's default (or, with mostRecent, newest) version."""
    return f"v1.0.0-{addon}-{which}-for-{kubernetes_version}"


def _unknown_message(tokens: list[str]) -> str:
    return (
        f"the mocks do not answer invoke {', '.join(map(repr, tokens))}: a misspelt token, or a function "
        "to add to RecordingMocks.call"
    )


class RecordingMonitor(MockMonitor):
    """The mock monitor, also keeping each registration's URN, parent and dependencies."""

    def __init__(self, mocks: RecordingMocks) -> None:
        super().__init__(mocks)
        self.recording = mocks

    def RegisterResource(self, request: Any) -> Any:
        before = len(self.recording.registrations)
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            # Registering awaits inline, so other registrations may run within this one; theirs are
            # complete (URN set) by the time it returns, and this request's is the one still without.
            added = next(
                r
                for r in self.recording.registrations[before:]
                if not r.urn and (r.type, r.name) == (request.type, request.name)
            )
            added.urn = response.urn
            added.parent = request.parent
            added.dependencies = tuple(request.dependencies)
        return response


def _extra_outputs(type_: str, name: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """Outputs the programs read that a remote component or a cloud resource computes."""
    if type_ == "eks:index:Cluster":
        cluster_name = inputs.get("name", name)
        return {
            "kubeconfigJson": json.dumps(
                {
                    "apiVersion": "v1",
                    "clusters": [
                        {"name": "kubernetes", "cluster": {"server": f"https://{cluster_name}.eks.test"}}
                    ],
                }
            ),
            "oidcProviderArn": f"arn:aws:iam::111122223333:oidc-provider/oidc.eks/{cluster_name}",
            "oidcProviderUrl": f"oidc.eks.us-west-2.amazonaws.com/id/{cluster_name}",
        }
    if type_ == "aws:iam/role:Role":
        role = inputs.get("name", name)
        return {"arn": f"arn:aws:iam::111122223333:role/{role}", "name": role}
    if type_ == "aws:ec2/launchTemplate:LaunchTemplate":
        return {"latestVersion": 1}
    if type_ == "aws:sqs/queue:Queue":
        queue = inputs.get("name", name)
        return {
            "arn": f"arn:aws:sqs:us-west-2:111122223333:{queue}",
            "url": f"https://sqs.us-west-2.amazonaws.com/111122223333/{queue}",
        }
    if type_ == "aws:cloudwatch/eventRule:EventRule":
        return {"name": inputs.get("name", name), "arn": f"arn:aws:events:us-west-2:111122223333:rule/{name}"}
    if type_ == "aws:kms/key:Key":
        return {"arn": f"arn:aws:kms:us-west-2:111122223333:key/{name}"}
    if type_ == "random:index/randomPassword:RandomPassword":
        return {"result": generated_password(name)}
    return {}


def generated_password(name: str) -> str:
    """What the mocks answer as a ``RandomPassword``'s ``result`` (the provider would make it up)."""
    return f"generated-{name}"


def run_program(
    program: Callable[[], Any],
    config: Mapping[str, Any] | None = None,
    mocks: RecordingMocks | None = None,
    stack: str = "test",
    secret_keys: Sequence[str] | None = None,
) -> RecordingMocks:
    """Run ``program`` to completion under mocks; returns the mocks with every registration.

    ``secret_keys`` are the config keys set with ``pulumi config set --secret``.
    """
    recording = mocks or RecordingMocks()
    # The charts are rendered before any release is created (armful:charts.renderAtDeploy), which needs
    # them on this machine and takes seconds a stack: programs here run without it unless the test sets
    # armful:charts itself (tests/components/test_deploy_render.py does, with the real archives).
    config = {NO_DEPLOY_RENDER_KEY: NO_DEPLOY_RENDER, **(config or {})}
    loop = asyncio.new_event_loop()
    loop.set_default_executor(ImmediateExecutor())
    asyncio.set_event_loop(loop)
    try:
        pulumi.runtime.set_all_config(
            {key: value if isinstance(value, str) else json.dumps(value) for key, value in config.items()},
            list(secret_keys or []),
        )
        pulumi_mocks.set_mocks(
            recording, project="armful", stack=stack, preview=False, monitor=RecordingMonitor(recording)
        )
        _sync_await(run_pulumi_func(program))
        # An invoke whose result nobody awaited fails nothing by itself; fail the run instead.
        if recording.unknown_invokes:
            raise UnknownInvokeError(_unknown_message(recording.unknown_invokes))
    finally:
        pulumi.runtime.reset_options()
        pulumi.runtime.set_all_config({}, [])
        asyncio.set_event_loop(None)
        loop.close()
    return recording


SECRET_SIGNATURE = ("4dabf18193072939515e22adb298388d", "1b47061264138c4ac30d75fd1eb44270")


def reveal(value: Any) -> Any:
    """Inputs as the program gave them, with secrets (which mocks see as wrapped maps) unwrapped."""
    if isinstance(value, dict):
        if value.get(SECRET_SIGNATURE[0]) == SECRET_SIGNATURE[1]:
            return reveal(value["value"])
        return {key: reveal(item) for key, item in value.items()}
    if isinstance(value, list):
        return [reveal(item) for item in value]
    return value


def is_secret(value: Any) -> bool:
    return isinstance(value, dict) and value.get(SECRET_SIGNATURE[0]) == SECRET_SIGNATURE[1]
