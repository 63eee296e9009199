"""The package other languages get: Pulumi's component analyzer over plugin/, offline (design §8).

``pulumi package add`` runs ``plugin/__main__.py``, whose provider infers the schema from the components'
annotations; this test builds the same provider from the same list of components and reads its schema:
every component, every input with its type, description and whether it is required, every output.
"""

from __future__ import annotations

import json
import runpy
import tomllib
from functools import cache
from typing import Any

import pulumi
import pytest
import yaml
from example_stacks import ROOT, stack_file_config
from pulumi.provider.experimental import host
from pulumi.provider.experimental.component import ComponentProvider
from pulumi_harness import RecordingMocks, reveal, run_program

PLUGIN = ROOT / "plugin"
PACKAGE = "armful"

# Input name → (type, required). "ref:X" is a type of this package, "resource:T" another package's
# resource (passed by reference), "array<T>" and "map<T>" collections.
EXPECTED_INPUTS: dict[str, dict[str, tuple[str, bool]]] = {
    "ArmCluster": {
        "topology": ("string", True),
        "cluster": ("ref:ClusterSpec", True),
        "systemPool": ("ref:PoolSpec", True),
        "workerPools": ("array<ref:PoolSpec>", False),
        "network": ("ref:NetworkSpec", False),
        "preferredArch": ("string", False),
        "region": ("string", False),
        "addons": ("map<any>", False),
        "workloads": ("array<ref:WorkloadSpec>", False),
        "grafanaAdminPassword": ("string", False),
        "charts": ("ref:ChartSourcesSpec", False),
    },
    "NodePools": {
        "cluster": ("resource:eks:index:Cluster", True),
        "subnetIds": ("array<string>", True),
        "topology": ("string", True),
        "systemPool": ("ref:PoolSpec", True),
        "workerPools": ("array<ref:PoolSpec>", False),
        "elasticWorkerArches": ("array<string>", False),
        "preferredArch": ("string", False),
        "kubernetesVersion": ("string", False),
        "nodeAmiRelease": ("string", False),
    },
    "ClusterAddons": {
        "clusterName": ("string", True),
        "topology": ("string", True),
        "pools": ("array<ref:PoolDescription>", True),
        "region": ("string", False),
        "vpcId": ("string", False),
        "kubernetesProvider": ("resource:pulumi:providers:kubernetes", False),
        "kubeconfig": ("string", False),
        "addons": ("map<any>", False),
        "grafanaAdminPassword": ("string", False),
        "storageClass": ("resource:kubernetes:storage.k8s.io/v1:StorageClass", False),
        "charts": ("ref:ChartSourcesSpec", False),
    },
    "Network": {
        "clusterName": ("string", True),
        "cidr": ("string", False),
        "availabilityZones": ("integer", False),
        "singleNatGateway": ("boolean", False),
        "zoneIds": ("array<string>", False),
        "privateSubnetTags": ("map<string>", False),
    },
}

EXPECTED_OUTPUTS: dict[str, dict[str, str]] = {
    "ArmCluster": {
        "clusterName": "string",
        "endpoint": "string",
        "kubeconfig": "string",
        "oidcProviderArn": "string",
        "oidcProviderUrl": "string",
        "vpcId": "string",
        "pools": "array<ref:PoolInfo>",
        "instanceTypes": "map<array<string>>",
        "zoneIds": "array<string>",
        "grafanaAdminPassword": "string",
    },
    "NodePools": {
        "pools": "array<ref:PoolInfo>",
        "instanceTypes": "map<array<string>>",
        "nodeRoleArn": "string",
    },
    "ClusterAddons": {"releaseNames": "array<string>", "placement": "map<array<string>>"},
    "Network": {
        "vpcId": "string",
        "privateSubnetIds": "array<string>",
        "publicSubnetIds": "array<string>",
        "zoneIds": "array<string>",
    },
}

# Type name → property → (type, required).
EXPECTED_TYPES: dict[str, dict[str, tuple[str, bool]]] = {
    "ClusterSpec": {
        "name": ("string", True),
        "kubernetesVersion": ("string", False),
        "allowExtendedSupport": ("boolean", False),
        "endpoint": ("ref:EndpointSpec", False),
        "adminPrincipalArns": ("array<string>", False),
        "bootstrapCreatorAdmin": ("boolean", False),
        "deletionProtection": ("boolean", False),
        "tags": ("map<string>", False),
        "nodeAmiRelease": ("string", False),
    },
    "EndpointSpec": {
        "privateAccess": ("boolean", False),
        "publicAccessCidrs": ("array<string>", False),
        "allowPublicInternet": ("boolean", False),
    },
    "NetworkSpec": {
        "vpcId": ("string", False),
        "privateSubnetIds": ("array<string>", False),
        "publicSubnetIds": ("array<string>", False),
        "cidr": ("string", False),
        "availabilityZones": ("integer", False),
        "singleNatGateway": ("boolean", False),
        "zoneIds": ("array<string>", False),
    },
    "PoolSpec": {
        "name": ("string", True),
        "instanceTypes": ("array<string>", True),
        "arch": ("string", False),
        "osFamily": ("string", False),
        "capacityType": ("string", False),
        "minSize": ("integer", False),
        "maxSize": ("integer", False),
        "desiredSize": ("integer", False),
        "diskSizeGib": ("integer", False),
        "labels": ("map<string>", False),
        "taints": ("array<ref:TaintSpec>", False),
        "nodeCapacity": ("ref:NodeCapacitySpec", False),
    },
    "NodeCapacitySpec": {
        "vcpus": ("integer", True),
        "memoryMib": ("integer", True),
        "maxPods": ("integer", True),
    },
    "PodRequestsSpec": {"cpu": ("string", True), "memory": ("string", True)},
    "TaintSpec": {"key": ("string", True), "value": ("string", False), "effect": ("string", False)},
    "WorkloadSpec": {
        "name": ("string", True),
        "images": ("array<string>", True),
        "arches": ("array<string>", False),
        "requests": ("ref:PodRequestsSpec", False),
        "replicas": ("integer", False),
    },
    "PoolDescription": {
        "name": ("string", True),
        "role": ("string", True),
        "arch": ("string", True),
        "labels": ("map<string>", False),
        "taints": ("array<ref:TaintSpec>", False),
    },
    "PoolInfo": {
        "name": ("string", True),
        "role": ("string", True),
        "arch": ("string", True),
        "labels": ("map<string>", True),
        "taints": ("array<ref:TaintInfo>", True),
    },
    "TaintInfo": {"key": ("string", True), "value": ("string", True), "effect": ("string", True)},
    "ChartSourcesSpec": {
        "repositories": ("map<string>", False),
        "directory": ("string", False),
        "digests": ("map<string>", False),
        "renderAtDeploy": ("boolean", False),
    },
}

# Inputs Armful plans with before anything exists must be plain values in every language; the others
# may be outputs of other resources.
NOT_PLAIN = {
    "ArmCluster": {"grafanaAdminPassword"},
    "NodePools": {"cluster", "subnetIds"},
    "ClusterAddons": {"vpcId", "kubernetesProvider", "kubeconfig", "grafanaAdminPassword", "storageClass"},
    "Network": set(),
}


@cache
def plugin_module() -> dict[str, Any]:
    """plugin/__main__.py's names, loaded the way the analyzer loads it: not as __main__, so no host starts."""
    return runpy.run_path(str(PLUGIN / "__main__.py"), run_name="armful_plugin")


@cache
def schema() -> dict[str, Any]:
    module = plugin_module()
    provider = ComponentProvider(module["COMPONENTS"], module["PACKAGE"], version="0.1.0")
    return json.loads(provider.schema)


def kind(prop: dict[str, Any]) -> str:
    ref = prop.get("$ref")
    if ref == "pulumi.json#/Any":
        return "any"
    if ref is not None and ref.startswith("#/types/"):
        return "ref:" + ref.removeprefix(f"#/types/{PACKAGE}:index:")
    if ref is not None:
        return "resource:" + ref.split("#/resources/", 1)[1].replace("%2F", "/")
    if prop["type"] == "array":
        return f"array<{kind(prop['items'])}>"
    if prop["type"] == "object":
        return f"map<{kind(prop['additionalProperties'])}>"
    return prop["type"]


def resource(component: str) -> dict[str, Any]:
    return schema()["resources"][f"{PACKAGE}:index:{component}"]


def test_the_plugin_manifest_runs_python_from_its_own_folder() -> None:
    manifest = yaml.safe_load((PLUGIN / "PulumiPlugin.yaml").read_text())
    runtime = manifest["runtime"]
    assert (runtime if isinstance(runtime, str) else runtime["name"]) == "python"
    assert "main" not in manifest, "Pulumi runs the folder's own __main__.py"
    # The plugin's virtualenv installs this repository's package: the components, not the stack program.
    requirements = (PLUGIN / "requirements.txt").read_text().split()
    assert "-e" in requirements and ".." in requirements
    assert "../requirements-pins.txt" in requirements, "the plugin runs with the pins Armful was tested with"
    assert (ROOT / "__main__.py").read_text() != (PLUGIN / "__main__.py").read_text()


def test_loading_the_plugin_hosts_nothing_and_runs_no_stack_program() -> None:
    """The analyzer imports the entry module; only ``python plugin/`` (run as __main__) starts the host."""
    mocks = RecordingMocks()
    names: dict[str, Any] = {}
    run_program(
        lambda: names.update(runpy.run_path(str(PLUGIN / "__main__.py"), run_name="armful_plugin")),
        mocks=mocks,
    )
    assert host.is_hosting is False
    assert mocks.registrations == [], "no stack program ran"
    assert [component.__name__ for component in names["COMPONENTS"]] == list(EXPECTED_INPUTS)


def test_every_component_is_in_the_package() -> None:
    assert schema()["name"] == PACKAGE
    assert set(schema()["resources"]) == {f"{PACKAGE}:index:{name}" for name in EXPECTED_INPUTS}
    for name in EXPECTED_INPUTS:
        assert resource(name)["isComponent"] is True
        assert resource(name)["description"], f"{name} has no description"
        assert "\n    " not in resource(name)["description"], "an indented docstring renders as code"


@pytest.mark.parametrize("component", list(EXPECTED_INPUTS))
def test_inputs_their_types_and_which_are_required(component: str) -> None:
    spec = resource(component)
    inputs = spec["inputProperties"]
    assert {name: kind(prop) for name, prop in inputs.items()} == {
        name: expected for name, (expected, _) in EXPECTED_INPUTS[component].items()
    }
    assert sorted(spec.get("requiredInputs", [])) == sorted(
        name for name, (_, required) in EXPECTED_INPUTS[component].items() if required
    )
    for name, prop in inputs.items():
        assert prop.get("description"), f"{component}.{name} has no description"
        assert bool(prop.get("plain")) is (name not in NOT_PLAIN[component]), f"{component}.{name}"


@pytest.mark.parametrize("component", list(EXPECTED_OUTPUTS))
def test_outputs_and_their_types(component: str) -> None:
    spec = resource(component)
    outputs = spec["properties"]
    assert {name: kind(prop) for name, prop in outputs.items()} == EXPECTED_OUTPUTS[component]
    assert sorted(spec["required"]) == sorted(EXPECTED_OUTPUTS[component])
    for name, prop in outputs.items():
        assert prop.get("description"), f"{component}.{name} has no description"
        assert "plain" not in prop, "a component's outputs are never plain"


@pytest.mark.parametrize("type_name", list(EXPECTED_TYPES))
def test_types_their_properties_and_descriptions(type_name: str) -> None:
    spec = schema()["types"][f"{PACKAGE}:index:{type_name}"]
    assert spec["type"] == "object"
    assert spec.get("description"), f"{type_name} has no description"
    properties = spec["properties"]
    assert {name: kind(prop) for name, prop in properties.items()} == {
        name: expected for name, (expected, _) in EXPECTED_TYPES[type_name].items()
    }
    assert sorted(spec.get("required", [])) == sorted(
        name for name, (_, required) in EXPECTED_TYPES[type_name].items() if required
    )
    for name, prop in properties.items():
        assert prop.get("description"), f"{type_name}.{name} has no description"


def test_the_package_has_no_types_it_does_not_document() -> None:
    assert set(schema()["types"]) == {f"{PACKAGE}:index:{name}" for name in EXPECTED_TYPES}


def test_output_types_use_keys_that_need_no_renaming() -> None:
    """Pulumi does not rename keys inside a list of objects an output holds, so their names are one word."""
    for type_name in ("PoolInfo", "TaintInfo"):
        for name in schema()["types"][f"{PACKAGE}:index:{type_name}"]["properties"]:
            assert name.isalpha() and name.islower(), f"{type_name}.{name}"


def test_resource_inputs_name_the_packages_they_come_from() -> None:
    dependencies = {(dep["name"], dep["version"]) for dep in schema()["dependencies"]}
    assert dependencies == {("eks", "4.4.0"), ("kubernetes", "4.34.2")}
    assert resource("NodePools")["inputProperties"]["cluster"]["$ref"].startswith("/eks/v4.4.0/schema.json#")
    assert resource("ClusterAddons")["inputProperties"]["kubernetesProvider"]["$ref"].startswith(
        "/kubernetes/v4.34.2/schema.json#"
    )


# --- what a program in another language sends, through the same provider ------------------------

HOSTED_POOLS = [
    {
        "name": "core",
        "role": "system",
        "arch": "amd64",
        "labels": {"node.armful.dev/role": "system"},
        "taints": [{"key": "CriticalAddonsOnly", "value": "true", "effect": "NoSchedule"}],
    },
    {"name": "apps", "role": "workers", "arch": "arm64"},
]


def test_a_construct_call_from_another_language_installs_the_add_ons() -> None:
    """Inputs arrive with schema names (camelCase); the provider maps them back to the TypedDict's."""
    module = plugin_module()
    provider = ComponentProvider(module["COMPONENTS"], module["PACKAGE"], version="0.1.0")
    state: dict[str, Any] = {}

    def program() -> None:
        result = provider.construct(
            "hosted",
            f"{PACKAGE}:index:ClusterAddons",
            {
                "clusterName": "hosted",
                "topology": "arm-workers",
                "pools": HOSTED_POOLS,
                "region": "eu-west-1",
                "vpcId": "vpc-0123456789abcdef0",
                "kubeconfig": "{}",
                "addons": {"kubePrometheusStack": {"enabled": False}},
            },
            None,
        )
        pulumi.Output.all(result.state["releaseNames"], result.state["placement"]).apply(
            lambda values: state.update(releases=values[0], placement=values[1])
        )

    mocks = run_program(program)
    releases = {r.inputs["name"] for r in mocks.of_type("kubernetes:helm.sh/v3:Release")}
    assert releases and set(state["releases"]) == releases
    assert "kube-prometheus-stack" not in releases
    assert state["placement"]["metrics-server/metrics-server"] == ["core"]
    alb = mocks.one("kubernetes:helm.sh/v3:Release", "hosted-aws-load-balancer-controller").inputs["values"]
    assert (alb["clusterName"], alb["region"], alb["vpcId"]) == (
        "hosted",
        "eu-west-1",
        "vpc-0123456789abcdef0",
    )


def test_a_construct_call_with_a_missing_required_input_names_it() -> None:
    module = plugin_module()
    provider = ComponentProvider(module["COMPONENTS"], module["PACKAGE"], version="0.1.0")
    with pytest.raises(Exception, match="Missing required input 'pools' on 'ClusterAddons'"):
        provider.construct(
            "hosted", f"{PACKAGE}:index:ClusterAddons", {"clusterName": "x", "topology": "mixed"}, None
        )


def test_a_construct_call_with_a_stack_files_config_builds_the_whole_cluster() -> None:
    """A stack file's armful: keys are the schema's names: another language sends them as they are."""
    module = plugin_module()
    provider = ComponentProvider(module["COMPONENTS"], module["PACKAGE"], version="0.1.0")
    config = stack_file_config("arm-workers")
    inputs = {
        key.removeprefix("armful:"): value for key, value in config.items() if key.startswith("armful:")
    }
    inputs.update(region=config["aws:region"], grafanaAdminPassword="hosted-password")
    state: dict[str, Any] = {}

    def program() -> None:
        result = provider.construct("hosted", f"{PACKAGE}:index:ArmCluster", inputs, None)
        pulumi.Output.all(result.state["pools"], result.state["instanceTypes"]).apply(
            lambda values: state.update(pools=values[0], instance_types=values[1])
        )

    mocks = run_program(program, stack="arm-workers")
    assert sorted(r.name for r in mocks.of_type("eks:index:ManagedNodeGroup")) == [
        "hosted-pools-batch-arm-spot",
        "hosted-pools-general-arm",
        "hosted-pools-system",
    ]
    assert mocks.one("eks:index:Cluster").inputs["name"] == "shop-arm-workers"
    assert [pool["name"] for pool in state["pools"]] == ["system", "general-arm", "batch-arm-spot"]
    assert state["instance_types"]["system"] == ["m7i.large", "m6i.large"]
    grafana = mocks.one("kubernetes:helm.sh/v3:Release", "hosted-addons-kube-prometheus-stack").inputs[
        "values"
    ]
    assert reveal(grafana)["grafana"]["adminPassword"] == "hosted-password"


def test_the_package_version_is_armfuls() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert plugin_module()["package_version"]() == pyproject["project"]["version"]
