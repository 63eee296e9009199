"""Kubernetes resource quantities (``250m``, ``2``, ``128Mi``, ``1G``, ``1e3``) as the scheduler counts them.

The grammar is Kubernetes' own (``k8s.io/apimachinery/pkg/api/resource``): a non-negative decimal
number, then one suffix at most: a binary SI one (``Ki`` ... ``Ei``), a decimal SI one (``m``,
``k``, ``M``, ``G``, ``T``, ``P``, ``E``) or a decimal exponent (``e3``, ``E-2``). Kubernetes
rounds up what it cannot hold (CPU to whole millicores, memory to whole bytes), and so does this
module, so that a sum of requests is never smaller than what the scheduler would add up.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal

_QUANTITY = re.compile(
    r"(?P<number>[+-]?(?:\d+(?:\.\d*)?|\.\d+))"
    r"(?:(?P<binary>Ki|Mi|Gi|Ti|Pi|Ei)|[eE](?P<exponent>[+-]?\d+)|(?P<decimal>[mkMGTPE]))?"
)
_BINARY_SUFFIXES = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL_SUFFIXES = {"m": -3, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
# Kubernetes holds a quantity's value in an int64; anything larger is a typo, not a request.
_LARGEST = Decimal(2**63 - 1)
_MIB = 2**20

CPU_RULE = "a CPU quantity such as 250m or 2"
MEMORY_RULE = "a memory quantity such as 128Mi or 1G"


def _quantity(text: str | int | float, rule: str) -> Decimal:
    # YAML gives unquoted numbers as int or float; bool is an int to Python but never a quantity.
    if isinstance(text, bool) or not isinstance(text, str | int | float):
        raise ValueError(f"{text!r} is not {rule}")
    match = _QUANTITY.fullmatch(str(text))
    if match is None:
        raise ValueError(f"{text!r} is not {rule}")
    number = Decimal(match["number"])
    if number < 0:
        raise ValueError(f"{text!r} is not {rule}: a resource quantity cannot be negative")
    if match["binary"]:
        value = number * _BINARY_SUFFIXES[match["binary"]]
    elif match["exponent"]:
        # Bounded so that Decimal never overflows: 1e30 is past any node, 1e-30 below a millicore.
        if len(match["exponent"].lstrip("+-").lstrip("0")) > 4 or abs(int(match["exponent"])) > 30:
            raise ValueError(f"{text!r} is not {rule}: the exponent is out of range")
        value = number.scaleb(int(match["exponent"]))
    else:
        value = number.scaleb(_DECIMAL_SUFFIXES.get(match["decimal"] or "", 0))
    if value > _LARGEST:
        raise ValueError(f"{text!r} is not {rule}: it is larger than Kubernetes can hold")
    return value


def parse_cpu(text: str | int | float) -> int:
    """Millicores, rounded up to a whole millicore: ``"250m"`` → 250, ``"2"`` → 2000, ``"1e3"`` → 1,000,000."""
    return math.ceil(_quantity(text, CPU_RULE) * 1000)


def parse_memory(text: str | int | float) -> float:
    """MiB as a float (decimal units such as ``1G`` are not whole MiB), of a whole number of bytes.

    ``"128Mi"`` → 128.0, ``"1G"`` → 953.67..., ``"1e3"`` → 1000 bytes.
    """
    return math.ceil(_quantity(text, MEMORY_RULE)) / _MIB
