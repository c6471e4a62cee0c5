"""Shapes shared by every contract: strict request bodies, pages, problem details."""

import re
from datetime import datetime
from typing import Annotated, Generic, TypeVar, cast

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints
from pydantic.config import JsonDict
from pydantic_core import PydanticCustomError

from app.core import text
from app.core.text import unassigned

T = TypeVar("T")


def _assigned_only(value: str) -> str:
    # The pattern states every other part of the text rule; unassigned code points are too many to list there.
    if unassigned(value):
        raise PydanticCustomError("text_unassigned", "Text may not hold code points Unicode has not assigned")
    return value


# Text by the one rule of app/core/text.py: refused at the edge, so control characters, separators, bidirectional
# overrides and the like never reach a log line, a database that rejects them, or a page that shows them.
PlainText = Annotated[str, StringConstraints(pattern=f"^[^{text.REFUSED}]*$"), AfterValidator(_assigned_only)]
# PlainText with at least one character that is not whitespace: what is left once trimmed is never empty,
# and the OpenAPI document says so (a trimmed `min_length` alone would let " " look valid there).
NonBlankText = Annotated[
    str,
    StringConstraints(pattern=f"^[^{text.REFUSED}]*[^{text.REFUSED}\\s][^{text.REFUSED}]*$"),
    AfterValidator(_assigned_only),
]
# The same rule, with line breaks and tabs allowed (free text such as a description).
MultilineText = Annotated[
    str, StringConstraints(pattern=f"^[^{text.REFUSED_BESIDE_LINE_BREAKS}]*$"), AfterValidator(_assigned_only)
]


def _iso_8601_only(value: object) -> object:
    # pydantic would also read "1700000000" as Unix seconds; the contract speaks ISO 8601 only.
    if isinstance(value, str) and re.fullmatch(r"\s*[-+]?\d+(\.\d*)?\s*", value):
        raise ValueError("expected an ISO 8601 date or date-time, such as 2026-11-26T10:00:00Z")
    return value


# An ISO 8601 date-time (or a date, meaning its 00:00); without an offset it is taken as UTC.
QueryDateTime = Annotated[datetime, BeforeValidator(_iso_8601_only)]


def without_null(schema: JsonDict) -> None:
    """A field's JSON schema without its `null` alternative."""
    variants = [v for v in cast(list[JsonDict], schema.pop("anyOf", [])) if v.get("type") != "null"]
    if len(variants) == 1:
        schema.update(variants[0])
    elif variants:
        schema["anyOf"] = list(variants)


# For an optional field that may be omitted but not sent as null: the OpenAPI document must not offer
# null where the model refuses it. Use as `Annotated[X | None, NotNull] = None` plus a validator refusing None.
NotNull = Field(json_schema_extra=without_null)


class RequestBody(BaseModel):
    """Every request body: unknown fields are a 422, so nothing can be mass-assigned."""

    model_config = ConfigDict(extra="forbid")


class Page(BaseModel, Generic[T]):
    items: list[T] = Field(description="This page's rows, in the list's order.")
    next_cursor: str | None = Field(description="Opaque; pass it back as `cursor` for the next page.")


class ProblemError(BaseModel):
    loc: list[str | int] = Field(description="Where: `body`, `query`, `path` or `header`, then the field's path.")
    msg: str = Field(description="What is wrong there, for people.")
    type: str = Field(description="What is wrong there, for programs (`missing`, `insufficient_stock`, ...).")


class Problem(BaseModel):
    """RFC 9457 problem details, as every error is answered."""

    type: str = Field(description="`urn:problem-type:<slug>`; the slugs are listed in the API contracts.")
    title: str = Field(description="A short summary of the problem type; the same for every problem of that type.")
    status: int = Field(description="The HTTP status code, repeated.")
    detail: str = Field(description="What went wrong with this request, for people.")
    request_id: str | None = Field(description="The request's `X-Request-ID`, to find its log lines.")
    errors: list[ProblemError] | None = Field(
        default=None, description="Every 422, and a 409 for stock: each part of the request at fault."
    )
    allowed: list[str] | None = Field(
        default=None, description="A 409 for a forbidden status change: the statuses the order may move to."
    )
