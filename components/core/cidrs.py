"""IPv4 CIDR blocks as config gives them, read strictly and checked for what they mean together."""

from __future__ import annotations

from collections.abc import Sequence
from ipaddress import IPv4Address, IPv4Network, collapse_addresses

EVERYWHERE = IPv4Network("0.0.0.0/0")


def parse_cidr(value: object, what: str = "CIDR block") -> IPv4Network:
    """An IPv4 block written as ``address/prefix`` with no host bits; ValueError with the fix otherwise."""
    if isinstance(value, IPv4Network):
        return value
    if not isinstance(value, str):
        raise ValueError(f"the {what} must be a string such as 203.0.113.0/24, not {value!r}")
    text = value.strip()
    address, slash, _ = text.partition("/")
    if not slash:
        try:
            IPv4Address(address)
        except ValueError:
            pass
        else:
            raise ValueError(
                f"{value!r} is an address, not a CIDR block. Fix: write {address}/32 for that one address"
            )
    try:
        return IPv4Network(text)
    except ValueError as error:
        if "has host bits set" in str(error):
            block = IPv4Network(text, strict=False)
            raise ValueError(
                f"{value!r} has host bits set: a /{block.prefixlen} block starts at {block.network_address}, "
                f"so {address} is inside {block} rather than its start. Fix: write {block} for the block, or "
                f"{address}/32 for that one address"
            ) from None
        raise ValueError(
            f"{value!r} is not an IPv4 CIDR block (four numbers from 0 to 255 and a prefix length "
            "from 0 to 32). Fix: write it like 203.0.113.0/24"
        ) from None


def covers_everything(cidrs: Sequence[IPv4Network]) -> bool:
    """Whether the blocks together hold every IPv4 address (0.0.0.0/1 and 128.0.0.0/1 do)."""
    return list(collapse_addresses(cidrs)) == [EVERYWHERE]


def duplicate_index(cidrs: Sequence[IPv4Network]) -> int | None:
    seen: set[IPv4Network] = set()
    for index, cidr in enumerate(cidrs):
        if cidr in seen:
            return index
        seen.add(cidr)
    return None


def unusable_vpc_block_problem(cidr: IPv4Network) -> str | None:
    """Why AWS refuses the block for a VPC (multicast, loopback, link-local and other reserved ranges)."""
    for check, kind in (
        (cidr.is_multicast, "multicast"),
        (cidr.is_loopback, "loopback"),
        (cidr.is_link_local, "link-local"),
        (cidr.is_unspecified or cidr.network_address in IPv4Network("0.0.0.0/8"), "'this network'"),
        (cidr.is_reserved, "reserved"),
    ):
        if check:
            return f"{cidr} is a {kind} range, which AWS does not allow for a VPC"
    return None
