"""What the API's models share: the ``_Public`` base, JSON integers, validation messages, error bodies."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

# The largest integer a JSON number holds exactly (2^53 - 1: JavaScript clients, and validators that compare
# numbers as doubles): the upper bound of identity ids and offsets.
MAX_JSON_INTEGER = 2**53 - 1


def _json_integer(value: object) -> object:
    """JSON Schema's integers: 409 and 409.0, but not true or "409" (lax pydantic would take those)."""
    if isinstance(value, bool | str):
        raise ValueError("Input should be a valid integer")
    return value


# strict=False under strict models: an integral float (409.0) is an integer in JSON Schema; the
# BeforeValidator still refuses the coercions pydantic's lax mode would allow.
JsonInteger = Annotated[int, Field(strict=False), BeforeValidator(_json_integer)]


def validation_message(exc: ValidationError) -> str:
    """The first error of a pydantic ValidationError as one line, without pydantic's "Value error, "."""
    return str(exc.errors()[0]["msg"]).removeprefix("Value error, ")


class _Public(BaseModel):
    # from_attributes: a page is validated from store records in one pass of pydantic's core, instead of a
    # Python call per record (a trajectory page holds hundreds of points; bench/api.py).
    model_config = ConfigDict(frozen=True, from_attributes=True)


# ---- errors ------------------------------------------------------------------------------------------------


class ErrorPublic(_Public):
    """Every error answer: one message naming the problem and what would fix it."""

    detail: str = Field(description="What went wrong and how to fix it.")


class FieldErrorPublic(_Public):
    loc: list[str | int] = Field(
        description="Where the bad value is: body, query, path or header, then names."
    )
    msg: str
    type: str


class ValidationProblemPublic(_Public):
    """A request that does not validate: ``detail`` sums it up in one line, ``errors`` lists each problem."""

    detail: str
    errors: list[FieldErrorPublic] = Field(default_factory=list)
