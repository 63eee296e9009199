"""Hosts Armful's components as a Pulumi component provider (a source-based plugin package).

Pulumi runs this file when a program in any language uses the package added with ``pulumi package add``;
it never runs the stack program at the repository root. The schema is inferred from the components'
type annotations (``pulumi.provider.experimental``).
"""

import tomllib
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from pulumi.provider.experimental import component_provider_host

from armful.arm_cluster import ArmCluster
from armful.cluster_addons import ClusterAddons
from armful.network import Network
from armful.node_pools import NodePools

PACKAGE = "armful"
COMPONENTS = [ArmCluster, NodePools, ClusterAddons, Network]


def package_version() -> str:
    """Armful's version (pyproject.toml), which the generated SDKs carry."""
    try:
        return version(PACKAGE)
    except PackageNotFoundError:  # run from a clone without ``pip install -e``
        pyproject = tomllib.loads((Path(__file__).resolve().parent.parent / "pyproject.toml").read_text())
        return pyproject["project"]["version"]


if __name__ == "__main__":
    component_provider_host(COMPONENTS, PACKAGE, version=package_version())
