"""Network on its own, under Pulumi mocks: which AZs it uses, and wrong args (design §7, §8)."""

from __future__ import annotations

import asyncio
from ipaddress import IPv4Network
from typing import Any

import pytest
from pulumi_harness import RecordingMocks, run_program

from armful.core.network_layout import NotEnoughZonesError, choose_zones
from armful.network import Network
from armful.planning.component_args import ArgsError

SUBNET = "aws:ec2/subnet:Subnet"
ZONES_TOKEN = "aws:index/getAvailabilityZones:getAvailabilityZones"
# us-east-1 as an account might see it: use1-az3 is a zone EKS does not place clusters in.
US_EAST_1 = {
    "us-east-1a": "use1-az1",
    "us-east-1b": "use1-az2",
    "us-east-1c": "use1-az3",
    "us-east-1d": "use1-az4",
    "us-east-1e": "use1-az5",
}


def _network(args: dict[str, Any], mocks: RecordingMocks | None = None) -> RecordingMocks:
    def program() -> None:
        # A failed apply leaves every dependent output holding the same error; asyncio would log each
        # as "exception was never retrieved" when freed, long after the test.
        asyncio.get_event_loop().set_exception_handler(lambda loop, context: None)
        Network("net", args)

    return run_program(program, {"aws:region": "us-east-1"}, mocks)


def test_only_standard_zones_that_eks_supports_are_asked_for_and_used() -> None:
    mocks = _network({"cluster_name": "east"}, RecordingMocks(availability_zones=US_EAST_1))
    (asked,) = [args for token, args in mocks.calls if token == ZONES_TOKEN]
    # Whatever their state: asking for available zones only moves subnets when one is impaired.
    assert "state" not in asked
    assert asked["filters"] == [{"name": "opt-in-status", "values": ["opt-in-not-required"]}]
    assert sorted(asked["excludeZoneIds"]) == ["cac1-az3", "use1-az3", "usw1-az2"]
    # Even when the answer holds use1-az3 (the mocks do not filter), no subnet goes there.
    zones = {s.inputs["availabilityZone"] for s in mocks.of_type(SUBNET)}
    assert zones == {"us-east-1a", "us-east-1b", "us-east-1d"}


def test_asking_for_more_zones_than_the_region_has_names_the_fix() -> None:
    mocks = RecordingMocks(
        availability_zones={k: US_EAST_1[k] for k in ("us-east-1a", "us-east-1b", "us-east-1c")}
    )
    # Pulumi reports it through the subnets that needed the zones; the message is choose_zones'.
    with pytest.raises(ValueError) as caught:
        _network({"cluster_name": "east", "availability_zones": 3}, mocks)
    message = str(caught.value)
    assert "list index out of range" not in message
    assert "asks for 3 AZs" in message and "2 (us-east-1a, us-east-1b)" in message
    assert "Fix: set availability_zones (stack config armful:network.availabilityZones) to 2" in message


def test_choose_zones_in_a_region_with_one_usable_zone() -> None:
    with pytest.raises(NotEnoughZonesError, match="Fix: use a region with at least two"):
        choose_zones(["us-west-1a", "us-west-1b"], ["usw1-az1", "usw1-az2"], 2, "Network net")
    assert choose_zones(["a", "b", "c"], ["x1", "cac1-az3", "x3"], 2, "n") == ["a", "c"]


@pytest.mark.parametrize(
    ("args", "paths"),
    [
        ({"cluster_name": "c", "availability_zones": 7}, ["availability_zones"]),
        ({"cluster_name": "c", "availability_zones": 1}, ["availability_zones"]),
        ({"cluster_name": "c", "cidr": "10.0.0.0/24"}, ["cidr"]),
        ({"cluster_name": "c", "cidr": "10.0.0.0/8"}, ["cidr"]),
        ({"cluster_name": "c", "cidr": "not-a-cidr"}, ["cidr"]),
        ({"availability_zones": 3}, ["cluster_name"]),
        ({"cluster_name": "c", "availabilityZones": 3}, ["availabilityZones"]),
    ],
    ids=["seven-zones", "one-zone", "cidr-too-small", "cidr-too-large", "not-a-cidr", "no-cluster", "camel"],
)
def test_wrong_args_register_nothing_and_name_the_arg(args: dict[str, Any], paths: list[str]) -> None:
    mocks = RecordingMocks()
    with pytest.raises(ArgsError) as caught:
        run_program(lambda: Network("net", args), mocks=mocks)
    assert [issue.path for issue in caught.value.issues] == paths
    assert all(issue.fix for issue in caught.value.issues)
    assert str(caught.value).startswith("Armful Network args have 1 error:")
    assert mocks.registrations == []


def test_zone_count_error_says_what_range_is_allowed() -> None:
    with pytest.raises(ArgsError) as caught:
        run_program(lambda: Network("net", {"cluster_name": "c", "availability_zones": 7}))
    (issue,) = caught.value.issues
    assert "2 to 6" in issue.fix


def test_subnets_follow_the_cidr_given() -> None:
    mocks = _network({"cluster_name": "east", "cidr": "10.8.0.0/18", "availability_zones": 2})
    blocks = [IPv4Network(s.inputs["cidrBlock"]) for s in mocks.of_type(SUBNET)]
    assert len(blocks) == 4
    assert all(block.subnet_of(IPv4Network("10.8.0.0/18")) for block in blocks)
