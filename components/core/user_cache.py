"""Where Armful keeps what it fetched (image platforms, chart archives): the user's cache directory."""

from __future__ import annotations

import os
from pathlib import Path


def armful_cache_dir(kind: str) -> Path:
    """``$XDG_CACHE_HOME/armful/<kind>``, else ``~/.cache/armful/<kind>``."""
    base = os.environ.get("XDG_CACHE_HOME")
    return (Path(base) if base else Path.home() / ".cache") / "armful" / kind
