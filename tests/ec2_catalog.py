"""EC2's DescribeInstanceTypes catalog as moto ships it: the real source tests hold Armful's figures to."""

from __future__ import annotations

import gzip
import importlib.util
import json
from functools import cache
from pathlib import Path
from typing import Any


def moto_catalog_path() -> Path | None:
    # find_spec locates moto without importing it (its import pulls in boto3 and friends).
    spec = importlib.util.find_spec("moto")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "ec2" / "resources" / "instance_types.json.gz"


@cache
def ec2_instance_types() -> dict[str, Any] | None:
    """Every type EC2 describes, by name; None without moto."""
    path = moto_catalog_path()
    return None if path is None else json.loads(gzip.decompress(path.read_bytes()))
