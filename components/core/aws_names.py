"""AWS's syntax for the names, ids and tags Armful passes on, each rule said in words with the fix.

Sources: the EKS ``CreateCluster`` API (cluster name), IAM's ARN format and EKS access entries
(principal ARNs), EC2's resource ids, and the tagging rules every AWS service shares (key 1 to 128
characters, value up to 256, the ``aws:`` prefix reserved, 50 tags per resource).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from armful.core.errors import describe_pattern

CLUSTER_NAME_MAX = 100
TAG_KEY_MAX = 128
TAG_VALUE_MAX = 256
TAGS_MAX = 50
_TAG_TEXT = re.compile(r"[\w\s.:/=+\-@]*")

IAM_PRINCIPAL_ARN = describe_pattern(
    r"^arn:aws[a-z-]*:(iam|sts)::\d{12}:(role|user|assumed-role)/[\w+=,.@/-]+$",
    "an IAM role or user ARN (arn:aws:iam::<12-digit account>:role/<name> or :user/<name>)",
    "arn:aws:iam::111122223333:role/platform-admin",
)
VPC_ID = describe_pattern(
    r"^vpc-[0-9a-f]{8,17}$",
    "a VPC id (vpc- and 8 or 17 lower-case hex digits)",
    "vpc-0123456789abcdef0",
)
SUBNET_ID = describe_pattern(
    r"^subnet-[0-9a-f]{8,17}$",
    "a subnet id (subnet- and 8 or 17 lower-case hex digits)",
    "subnet-0123456789abcdef0",
)


def first_bad_character(text: str, allowed: str) -> str:
    """``" ('_' at position 3)"`` for the first character outside ``allowed`` (a regex class body)."""
    for index, character in enumerate(text):
        if not re.fullmatch(f"[{allowed}]", character):
            return f" ({character!r} at position {index + 1})"
    return ""


def cluster_name_problem(name: str) -> str | None:
    """Armful's rule for an EKS cluster name (stricter than EKS: the name is also a prefix of IAM and
    CloudWatch names): 1 to 100 letters, digits and hyphens, starting with a letter."""
    rule = (
        f"an EKS cluster name is 1 to {CLUSTER_NAME_MAX} letters, digits and hyphens, starting with a letter"
    )
    if not name:
        return f"the cluster name is empty; {rule}"
    if len(name) > CLUSTER_NAME_MAX:
        return f"the cluster name is {len(name)} characters; {rule}"
    if not name[0].isascii() or not name[0].isalpha():
        return f"cluster name {name!r} starts with {name[0]!r}; {rule}"
    bad = first_bad_character(name, "A-Za-z0-9-")
    if bad:
        return f"cluster name {name!r} has a character EKS names cannot hold{bad}; {rule}"
    return None


def tag_problems(tags: Mapping[str, str]) -> list[tuple[str, str]]:
    """(tag key, problem) for each tag AWS refuses."""
    problems = []
    if len(tags) > TAGS_MAX:
        problems.append(("", f"{len(tags)} tags are given; an AWS resource takes at most {TAGS_MAX}"))
    for key, value in tags.items():
        if key.lower().startswith("aws:"):
            problems.append((key, f"tag key {key!r} starts with 'aws:', a prefix AWS keeps for its own tags"))
        elif not 1 <= len(key) <= TAG_KEY_MAX:
            problems.append((key, f"tag key {key!r} is {len(key)} characters; AWS takes 1 to {TAG_KEY_MAX}"))
        elif not _TAG_TEXT.fullmatch(key):
            problems.append((key, f"tag key {key!r} has a character AWS tags cannot hold{_tag_bad(key)}"))
        if len(value) > TAG_VALUE_MAX:
            problems.append(
                (key, f"tag {key!r} has a value of {len(value)} characters; AWS takes {TAG_VALUE_MAX}")
            )
        elif not _TAG_TEXT.fullmatch(value):
            problems.append(
                (key, f"tag {key!r} has a value with a character AWS tags cannot hold{_tag_bad(value)}")
            )
    return problems


def _tag_bad(text: str) -> str:
    for index, character in enumerate(text):
        if not _TAG_TEXT.fullmatch(character):
            return f" ({character!r} at position {index + 1}; tags take letters, digits, spaces and _ . : / = + - @)"
    return ""
