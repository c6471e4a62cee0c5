"""The OpenAPI document is complete enough to learn the API from Swagger UI and to generate a client from.

- Every tag an operation uses is described, and every described tag is used.
- Every operation has a summary that is one short sentence (a capital first, a full stop last, at most 80
  characters, no full stop inside), a description that says more than the summary, and its route function's
  name as its operation id, unique.
- Every parameter and every property of every schema is described.
- Every request body, and every success response that has a body, carries an example (on its media type, or on
  the schema it refers to): `REQUESTS` and `RESPONSES` in app/schemas/examples.py give one per model.
- Every such example is one the service itself would read or write: the route's own model validates it, and
  writing the result out again gives the example back (so no field is misspelt, missing or of the wrong type).
"""

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import TypeAdapter, ValidationError

from app.main import create_app
from app.schemas import examples
from app.schemas.common import Problem

SENTENCE = re.compile(r"[A-Z][^\n]*[^.\s]\.")
MAX_SUMMARY = 80
Operation = tuple[str, dict[str, Any]]


@pytest.fixture(scope="module")
def app() -> FastAPI:
    return create_app()


@pytest.fixture(scope="module")
def document(app: FastAPI) -> dict[str, Any]:
    return app.openapi()


def operations(document: dict[str, Any]) -> Iterator[Operation]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            yield f"{method.upper()} {path}", operation


def resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def examples_of(document: dict[str, Any], media: dict[str, Any]) -> list[Any]:
    """A media type's examples: its own (`example`, `examples`), else its schema's."""
    if "example" in media:
        return [media["example"]]
    if media.get("examples"):
        return [example["value"] for example in media["examples"].values()]
    return list(resolve(document, media.get("schema", {})).get("examples", []))


def request_media(operation: dict[str, Any]) -> dict[str, Any]:
    return dict(operation.get("requestBody", {}).get("content", {}))


def success_media(operation: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        f"{status} {media_type}": media
        for status, response in operation["responses"].items()
        if status.startswith("2")
        for media_type, media in response.get("content", {}).items()
    }


def test_every_tag_is_described_and_used(document: dict[str, Any]) -> None:
    described = {tag["name"] for tag in document.get("tags", []) if tag.get("description", "").strip()}
    used = {tag for _, operation in operations(document) for tag in operation.get("tags", [])}
    declared = {tag["name"] for tag in document.get("tags", [])}
    assert used - described == set(), "tags without a description (TAGS in app/api/openapi.py)"
    assert declared - used == set(), "tags that no operation uses"
    untagged = [label for label, operation in operations(document) if not operation.get("tags")]
    assert untagged == [], "operations without a tag"


def test_every_operation_has_a_sentence_for_a_summary_and_a_description(document: dict[str, Any]) -> None:
    faults = []
    for label, operation in operations(document):
        summary, description = operation.get("summary", ""), operation.get("description", "").strip()
        if not SENTENCE.fullmatch(summary) or len(summary) > MAX_SUMMARY or ". " in summary:
            faults.append(f"{label}: summary {summary!r} is not one short sentence (set `summary=` on the route)")
        if not description or description == summary:
            faults.append(f"{label}: no description beyond the summary (the route's docstring)")
    assert faults == []


def test_operation_ids_are_the_route_functions_names(app: FastAPI, document: dict[str, Any]) -> None:
    by_label = dict(operations(document))
    ids = {label: by_label[label].get("operationId") for label, _ in routes(app)}
    assert ids == {label: route.name for label, route in routes(app)}
    assert len(set(ids.values())) == len(ids), "operation ids must be unique: rename a route function"


def test_every_parameter_and_schema_property_is_described(document: dict[str, Any]) -> None:
    undescribed = [
        f"{label}: parameter {parameter['name']} ({parameter['in']})"
        for label, operation in operations(document)
        for parameter in operation.get("parameters", [])
        if not parameter.get("description", "").strip()
    ]
    undescribed += [
        f"{name}.{field}"
        for name, schema in document["components"]["schemas"].items()
        for field, sub in schema.get("properties", {}).items()
        if not sub.get("description", "").strip()
    ]
    assert undescribed == [], f"{len(undescribed)} without a description"


def test_every_request_body_and_success_response_has_an_example(document: dict[str, Any]) -> None:
    missing = []
    for label, operation in operations(document):
        bodies = request_media(operation)
        if bodies and not any(examples_of(document, media) for media in bodies.values()):
            missing.append(f"{label}: request body")
        missing += [
            f"{label}: response {answer}"
            for answer, media in success_media(operation).items()
            if not examples_of(document, media)
        ]
    assert missing == [], "give the model an example in app/schemas/examples.py (a form: `form_example` on its route)"


def routes(app: FastAPI) -> Iterator[tuple[str, APIRoute]]:
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, APIRoute) and route.include_in_schema:
            for method in route.methods or ():
                yield f"{method} {route.path_format}", route


def test_every_example_is_one_the_service_reads_or_writes(app: FastAPI, document: dict[str, Any]) -> None:
    by_label = dict(operations(document))
    faults: list[str] = []
    checked = 0
    for label, route in routes(app):
        operation = by_label[label]
        if route.body_field is not None:
            model = route.body_field.field_info.annotation
            for media in request_media(operation).values():
                for example in examples_of(document, media):
                    faults += _misfits(f"{label} request", model, example)
                    checked += 1
        for answer, media in success_media(operation).items():
            for example in examples_of(document, media):
                if answer.endswith("json") and route.response_model is not None:
                    faults += _misfits(f"{label} {answer}", route.response_model, example)
                elif not isinstance(example, str):
                    faults.append(f"{label} {answer}: an answer that is not JSON has text for its example")
                checked += 1
    assert faults == []
    assert checked > 0


def test_the_problem_example_is_a_problem() -> None:
    assert _misfits("Problem", Problem, examples.PROBLEM) == []


def _misfits(where: str, model: Any, example: Any) -> list[str]:
    adapter = TypeAdapter(model)
    try:
        value = adapter.validate_json(json.dumps(example))
    except ValidationError as exc:
        return [f"{where}: the example is refused: {exc.errors(include_url=False, include_input=False)}"]
    again = adapter.dump_python(value, mode="json", exclude_unset=True)
    return [] if again == example else [f"{where}: the example reads back as {again}"]


def test_the_checks_can_fail() -> None:
    assert not SENTENCE.fullmatch("Place Order")
    assert not SENTENCE.fullmatch("place an order.")
    assert SENTENCE.fullmatch("Place an order.")
    assert _misfits("x", Problem, {**examples.PROBLEM, "status": "409"}) != []
    assert _misfits("x", Problem, {**examples.PROBLEM, "detial": "typo"}) != []
    bare = {"openapi": "3.1.0", "components": {"schemas": {"A": {"examples": [{"a": 1}]}}}}
    assert examples_of(bare, {"schema": {"$ref": "#/components/schemas/A"}}) == [{"a": 1}]
    assert examples_of(bare, {"schema": {"type": "object"}}) == []
