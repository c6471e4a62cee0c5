"""docs/api_contracts.md ("Problem types") lists every problem `type` the service can send, and nothing else.

The types are read from the code, so a new one fails this test until it is documented: the `slug` of `AppError`
and of each of its subclasses, every `slug="..."` a call in app/ passes (to `problem_response`, say), and the type
the error handlers give a framework error of each status they have a title for (`_default_slug`).
"""

import ast
import re
from pathlib import Path

import app.main  # noqa: F401 - every module that may define an error class is imported
from app.core import errors
from app.core.errors import AppError

ROOT = Path(__file__).resolve().parents[2]
ROW = re.compile(r"^\| `urn:problem-type:([a-z0-9-]+)` \| (\d{3}) \| (.+) \|$", re.MULTILINE)


def documented() -> dict[str, int]:
    contracts = (ROOT / "docs/api_contracts.md").read_text()
    section = contracts.split("\n## Problem types\n", 1)[1].split("\n## ", 1)[0]
    rows = ROW.findall(section)
    assert len(rows) == len({slug for slug, _, _ in rows}), "a type is listed twice"
    return {slug: int(status) for slug, status, _ in rows}


def error_classes() -> list[type[AppError]]:
    found, todo = [], [AppError]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return found


def slugs_passed_in_calls() -> dict[str, int | None]:
    """`slug="..."` keywords anywhere in app/, with the status when the call's first argument is a literal."""
    found: dict[str, int | None] = {}
    for path in (ROOT / "app").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            for keyword in node.keywords:
                if keyword.arg == "slug" and isinstance(keyword.value, ast.Constant):
                    first = node.args[0] if node.args else None
                    status = first.value if isinstance(first, ast.Constant) and isinstance(first.value, int) else None
                    found[str(keyword.value.value)] = status
    return found


def sendable() -> dict[str, int | None]:
    """Every type the code can send, by slug, with its status where the code says it."""
    types: dict[str, int | None] = {errors._default_slug(status): status for status in errors._TITLES}
    types |= slugs_passed_in_calls()
    types |= {cls.slug: cls.status for cls in error_classes()}
    return types


def test_every_problem_type_the_code_can_send_is_documented_and_nothing_else() -> None:
    in_docs, in_code = documented(), sendable()
    assert set(in_code) - set(in_docs) == set(), "types missing from 'Problem types' in docs/api_contracts.md"
    assert set(in_docs) - set(in_code) == set(), "'Problem types' lists types the code never sends"
    wrong = {slug: (status, in_docs[slug]) for slug, status in in_code.items() if status and status != in_docs[slug]}
    assert wrong == {}, "(status in the code, status in the docs)"


def test_the_readers_see_what_they_should() -> None:
    code = sendable()
    assert code["conflict"] == 409 and code["rate-limited"] == 429  # error classes
    assert code["validation-failed"] == 422  # a class, and the `slug=` of the request-validation handler
    assert code["method-not-allowed"] == 405 and code["service-unavailable"] == 503  # framework statuses
    assert documented()["not-found"] == 404
