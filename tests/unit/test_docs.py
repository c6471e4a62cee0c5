"""The docs stay true to the code: every route is documented, every named file and function exists."""

import ast
import re
from pathlib import Path

import pytest

from app.config import Settings
from app.main import create_app

ROOT = Path(__file__).resolve().parents[2]
ROUTE_HEADING = re.compile(r"^###\s+(GET|POST|PUT|PATCH|DELETE)\s+(/\S*)\s*$", re.MULTILINE)
APP_PATH = re.compile(r"\bapp/[\w/]+\.py\b")
CALL_NAME = re.compile(r"`(?:([\w.]+)\.)?(\w+)\(\)`")


def _app_routes() -> set[tuple[str, str]]:
    """Every operation the app serves, read from its OpenAPI document, and the two HTML pages (Swagger UI, the
    dashboard), which are routes though not API operations."""
    paths = create_app().openapi()["paths"]
    operations = {(method.upper(), path) for path, methods in paths.items() for method in methods}
    return operations | {("GET", "/docs"), ("GET", "/admin")}


def test_every_route_is_in_api_contracts_and_nothing_else() -> None:
    documented = set(ROUTE_HEADING.findall((ROOT / "docs/api_contracts.md").read_text()))
    built = _app_routes()
    assert built - documented == set(), "routes missing from docs/api_contracts.md"
    assert documented - built == set(), "docs/api_contracts.md documents routes the app does not have"


def _defined_names() -> set[str]:
    names: set[str] = set()
    for path in (ROOT / "app").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names.add(node.name)
    return names


@pytest.mark.parametrize("doc", ["docs/architecture.md", "docs/decisions.md", "docs/tradeoffs.md"])
def test_every_file_and_function_the_docs_name_exists(doc: str) -> None:
    text = (ROOT / doc).read_text()
    paths = set(APP_PATH.findall(text))
    missing_paths = sorted(path for path in paths if not (ROOT / path).is_file())
    assert missing_paths == [], f"{doc} names files that do not exist"
    defined = _defined_names()
    modules = {path.stem for path in (ROOT / "app").rglob("*.py")}
    # `gc.freeze()` is the standard library's; `OrderService.place_order()` and `order_service.place_order()` ours.
    ours = [name for owner, name in CALL_NAME.findall(text) if not owner or owner.split(".")[0] in defined | modules]
    missing_functions = sorted(name for name in set(ours) if name not in defined)
    assert missing_functions == [], f"{doc} names functions that do not exist"


def test_the_architecture_checks_can_fail() -> None:
    assert "app/services/order_service.py" in APP_PATH.findall("see `app/services/order_service.py`")
    found = CALL_NAME.findall("`order_service.place_order()` and `nothing_here()`")
    assert found == [("order_service", "place_order"), ("", "nothing_here")]
    assert "nothing_here" not in _defined_names()


def test_every_setting_is_in_env_example_and_the_settings_section() -> None:
    contracts = (ROOT / "docs/api_contracts.md").read_text()
    section = contracts.split("\n## Settings\n", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"`([A-Z][A-Z0-9_]+)`", section))
    in_example = set(re.findall(r"^([A-Z][A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), flags=re.MULTILINE))
    settings = {name.upper() for name in Settings.model_fields}
    assert settings - documented == set(), "settings missing from the Settings section of docs/api_contracts.md"
    assert settings - in_example == set(), "settings missing from .env.example"
    assert in_example - settings == set(), ".env.example names settings the service does not read"


def test_every_image_the_readme_shows_is_in_the_repository() -> None:
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", (ROOT / "README.md").read_text())
    assert "docs/images/dashboard.png" in images
    assert [image for image in images if not (ROOT / image).is_file()] == []
