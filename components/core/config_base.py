"""The base of every config model: camelCase keys, unknown keys rejected with their path."""

from __future__ import annotations

import types
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator
from pydantic.alias_generators import to_camel


def _takes_number(annotation: Any) -> bool:
    """A field typed int or float (optional or not), where a boolean is never meant."""
    if get_origin(annotation) in (Union, types.UnionType):
        return any(_takes_number(arg) for arg in get_args(annotation))
    return annotation in (int, float)


class ConfigModel(BaseModel):
    # Each field's docstring is its description: the same text its TypedDict shows other languages.
    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
        use_attribute_docstrings=True,
    )

    @field_validator("*", mode="before")
    @classmethod
    def _no_boolean_for_a_number(cls, value: Any, info: ValidationInfo) -> Any:
        # pydantic reads true as 1 for an int field: `replicas: true` would pass as one replica.
        if isinstance(value, bool) and info.field_name is not None:
            field = cls.model_fields.get(info.field_name)
            if field is not None and _takes_number(field.annotation):
                raise ValueError(
                    f"this is the boolean {str(value).lower()}, not a number. Fix: give a whole number"
                )
        return value
