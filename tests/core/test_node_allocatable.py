"""A node's room for pods, against EKS's published figures, and the quantity parser that reads requests.

Every expected number is written out by hand from its source:
- max pods without prefix delegation: eni-max-pods.txt (awslabs/amazon-eks-ami at 2377b69a,
  templates/shared/runtime/eni-max-pods.txt);
- the 110/250 ceiling and the prefix-delegation formula: max-pods-calculator.sh beside it;
- kube-reserved and eviction: nodeadm/internal/kubelet/config.go (design §5: m7g.large has 29 pods
  and 11 x 29 + 255 = 574 MiB reserved).
"""

from __future__ import annotations

import pytest

from armful.core.arch import Arch
from armful.core.instance_catalog import CATALOG, InstanceType
from armful.core.node_allocatable import (
    Allocatable,
    allocatable,
    eni_max_pods,
    kube_reserved_cpu_millicores,
    kube_reserved_memory_mib,
    max_pods,
)
from armful.core.quantities import parse_cpu, parse_memory


@pytest.mark.parametrize(
    ("name", "published"),
    [
        ("m7g.large", 29),
        ("m5.large", 29),
        ("a1.medium", 8),
        ("t3.micro", 4),
        ("t4g.micro", 4),
        ("t2.medium", 17),
        ("a1.4xlarge", 234),
        ("a1.metal", 234),
        ("g4ad.xlarge", 8),
        ("g4ad.16xlarge", 234),
        ("c6g.16xlarge", 737),
        ("m7g.16xlarge", 737),
        ("m8g.48xlarge", 737),
        ("x8g.metal-48xl", 737),
        # Second network cards carry no pod addresses: 8 of c6in's 16 ENIs, 12 of c8gn's 24, 2 of p5's 64.
        ("c6in.32xlarge", 394),
        ("c8gn.48xlarge", 590),
        ("p5.48xlarge", 100),
    ],
)
def test_eni_max_pods_is_the_published_figure(name: str, published: int) -> None:
    assert eni_max_pods(CATALOG[name]) == published


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("m7g.large", 29),
        ("m5.large", 29),
        ("t3.micro", 4),
        # 16 and 24 vCPUs: 234 addresses, capped at 110.
        ("a1.4xlarge", 110),
        ("m5zn.6xlarge", 110),
        # 32 and 64 vCPUs: above 30, so 234 fits under the 250 ceiling.
        ("m5.8xlarge", 234),
        ("g4ad.16xlarge", 234),
        ("c6g.16xlarge", 250),
        ("c6in.32xlarge", 250),
        ("p5.48xlarge", 100),
    ],
)
def test_max_pods_without_prefix_delegation_is_capped_by_vcpus(name: str, expected: int) -> None:
    assert max_pods(CATALOG[name]) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        # 3 ENIs x 9 slots x 16 + 2 = 434, over the ceiling of a 2-vCPU type.
        ("m7g.large", 110),
        # 2 ENIs x 1 slot x 16 + 2 = 34, under it.
        ("t3.micro", 34),
        ("m7g.16xlarge", 250),
        ("c6in.32xlarge", 250),
        # Xen: the VPC CNI assigns no prefixes, so secondary addresses still decide.
        ("t2.medium", 17),
    ],
)
def test_max_pods_with_prefix_delegation(name: str, expected: int) -> None:
    assert max_pods(CATALOG[name], prefix_delegation=True) == expected


def test_the_higher_ceiling_starts_above_30_vcpus() -> None:
    thirty_vcpus = InstanceType("zz1.8xlarge", Arch.AMD64, 30, 65536, 8, 8, 30, bare_metal=False, nitro=True)
    thirty_two_vcpus = InstanceType(
        "zz1.9xlarge", Arch.AMD64, 32, 65536, 8, 8, 30, bare_metal=False, nitro=True
    )
    assert max_pods(thirty_vcpus) == 110
    assert max_pods(thirty_two_vcpus) == 234


def test_bare_metal_takes_prefixes_without_a_nitro_hypervisor() -> None:
    small_metal = InstanceType("zz1.metal", Arch.ARM64, 16, 32768, 2, 2, 4, bare_metal=True, nitro=False)
    assert max_pods(small_metal) == 8
    assert max_pods(small_metal, prefix_delegation=True) == 98


@pytest.mark.parametrize(
    ("pods", "reserved_mib"),
    [(4, 299), (29, 574), (110, 1465), (234, 2829), (737, 8362)],
)
def test_kube_reserved_memory(pods: int, reserved_mib: int) -> None:
    assert kube_reserved_memory_mib(pods) == reserved_mib


@pytest.mark.parametrize(
    ("vcpus", "reserved_millicores"),
    [
        (1, 60),
        (2, 70),
        (3, 75),
        (4, 80),
        # 0.25% of the fifth core is 2.5m, of the fifth to seventh 7.5m: nodeadm's integer division
        # keeps 2 and 7.
        (5, 82),
        (7, 87),
        (8, 90),
        (64, 230),
        (96, 310),
        (192, 550),
    ],
)
def test_kube_reserved_cpu(vcpus: int, reserved_millicores: int) -> None:
    assert kube_reserved_cpu_millicores(vcpus) == reserved_millicores


@pytest.mark.parametrize(
    ("name", "prefix_delegation", "expected"),
    [
        # 2000m - 70m; 8192 MiB - 574 - 100.
        ("m7g.large", False, Allocatable(cpu_millicores=1930, memory_mib=7518, pods=29)),
        # nodeadm still reserves memory for its own 29 pods when prefixes raise max pods to 110.
        ("m7g.large", True, Allocatable(cpu_millicores=1930, memory_mib=7518, pods=110)),
        # 64000m - 230m; 131072 MiB - (11 x 737 + 255) - 100, for 250 pods.
        ("c6g.16xlarge", False, Allocatable(cpu_millicores=63770, memory_mib=122610, pods=250)),
        # 512 MiB - 299 - 100.
        ("t3.nano", False, Allocatable(cpu_millicores=1930, memory_mib=113, pods=4)),
    ],
)
def test_allocatable(name: str, prefix_delegation: bool, expected: Allocatable) -> None:
    assert allocatable(CATALOG[name], prefix_delegation) == expected


def test_allocatable_memory_is_never_negative() -> None:
    # 256 MiB cannot hold 299 MiB of kube-reserved plus the eviction threshold; the kubelet shows 0.
    tiny = InstanceType("zz1.nano", Arch.AMD64, 2, 256, 2, 2, 2, bare_metal=False, nitro=True)
    assert allocatable(tiny) == Allocatable(cpu_millicores=1930, memory_mib=0, pods=4)


@pytest.mark.parametrize(
    ("text", "millicores"),
    [
        ("250m", 250),
        ("2", 2000),
        ("0.5", 500),
        (".5", 500),
        ("1.", 1000),
        ("+1.5", 1500),
        ("1e3", 1_000_000),
        ("1E-2", 10),
        ("1k", 1_000_000),
        ("1Ki", 1_024_000),
        # Finer than a millicore rounds up, as Kubernetes does.
        ("0.1m", 1),
        ("1e-4", 1),
        # Unquoted YAML numbers.
        (2, 2000),
        (0.25, 250),
    ],
)
def test_parse_cpu(text: str | int | float, millicores: int) -> None:
    assert parse_cpu(text) == millicores


@pytest.mark.parametrize(
    ("text", "mib"),
    [
        ("128Mi", 128.0),
        ("1Gi", 1024.0),
        ("1.5Gi", 1536.0),
        ("1Ti", 1048576.0),
        ("512Ki", 0.5),
        ("128974848", 123.0),
        ("1G", 953.67431640625),
        ("1M", 0.95367431640625),
        ("1e6", 0.95367431640625),
        ("1E", 953674316406.25),
        # A thousandth of a byte is still a whole byte.
        ("1m", 1 / 1048576),
        (134217728, 128.0),
    ],
)
def test_parse_memory(text: str | int, mib: float) -> None:
    assert parse_memory(text) == mib


@pytest.mark.parametrize(
    "text",
    ["", "abc", "1e", "1 Mi", " 1", "1mi", "1KB", "Mi", "1.2.3", "inf", "1e99", "-1", True, None],
)
def test_bad_cpu_quantities_name_the_rule(text: object) -> None:
    with pytest.raises(ValueError, match="is not a CPU quantity such as 250m or 2"):
        parse_cpu(text)  # type: ignore[arg-type]


@pytest.mark.parametrize("text", ["", "128MB", "1gi", "-128Mi", "1e40", [128]])
def test_bad_memory_quantities_name_the_rule(text: object) -> None:
    with pytest.raises(ValueError, match="is not a memory quantity such as 128Mi or 1G"):
        parse_memory(text)  # type: ignore[arg-type]


def test_negative_quantity_says_why() -> None:
    with pytest.raises(ValueError, match="cannot be negative"):
        parse_cpu("-250m")
