"""Armful's refusals as ``pulumi.RunError``: ``pulumi up`` prints such an error's message alone, where any
other exception is "Program failed with an unhandled exception" and a Python stack.

The pure layers raise ``StackConfigError`` (its ``ArgsError`` included), ``PlanError`` and
``NotEnoughZonesError``. Each component's constructor, the stack program's config reader and the
deploy-time checks raise them through ``armful_errors``, which turns each into the same error, same
class, same message, same fields, that is also a ``RunError``: code that catches ``StackConfigError``
(or reads ``.issues``) keeps working, and Pulumi prints the message and nothing else.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import pulumi

from armful.core.errors import StackConfigError
from armful.core.network_layout import NotEnoughZonesError
from armful.planning.plan import PlanError

ARMFUL_ERRORS: tuple[type[Exception], ...] = (StackConfigError, PlanError, NotEnoughZonesError)
"""What Armful raises for a config, plan or deploy-time refusal (never for a bug)."""

T = TypeVar("T")


class ArmfulRunError(pulumi.RunError):
    """The base of every refusal Armful raises to Pulumi; each is also an instance of the error it was."""


@functools.cache
def _run_error_class(cls: type[Exception]) -> type[Exception]:
    return type(cls.__name__, (ArmfulRunError, cls), {"__module__": cls.__module__, "__doc__": cls.__doc__})


def as_run_error(error: Exception) -> Exception:
    """``error`` again, as an instance of a class that is both its own and ``ArmfulRunError``."""
    if isinstance(error, ArmfulRunError):
        return error
    converted = _run_error_class(type(error)).__new__(_run_error_class(type(error)))
    converted.__dict__.update(error.__dict__)
    converted.args = error.args
    return converted


@contextmanager
def armful_errors() -> Iterator[None]:
    """Re-raise Armful's refusals inside the block as RunErrors (see the module's docstring)."""
    try:
        yield
    except ARMFUL_ERRORS as error:
        raise as_run_error(error) from None


def refusing(function: Callable[..., T]) -> Callable[..., T]:
    """``function`` with ``armful_errors`` around it: for callbacks Pulumi runs later (``Output.apply``)."""

    @functools.wraps(function)
    def wrapped(*args: Any, **kwargs: Any) -> T:
        with armful_errors():
            return function(*args, **kwargs)

    return wrapped


__all__ = ["ARMFUL_ERRORS", "ArmfulRunError", "armful_errors", "as_run_error", "refusing"]
