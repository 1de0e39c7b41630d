"""The layers depend inwards only: the domain knows nothing of storage or the web, and the service layer
knows storage and providers only through its ports."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "everypenny"

FORBIDDEN = {
    "domain": ("sqlalchemy", "alembic", "fastapi", "starlette", "httpx", "psycopg", "stripe", "twilio",
               "everypenny.adapters", "everypenny.service_layer", "everypenny.entrypoints",
               "everypenny.bootstrap"),
    "service_layer": ("sqlalchemy", "alembic", "fastapi", "starlette", "psycopg", "stripe", "twilio",
                      "everypenny.adapters", "everypenny.entrypoints", "everypenny.bootstrap"),
}


def imports_of(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_a_layer_imports_nothing_from_the_layers_outside_it(layer):
    offences = [
        f"{path.relative_to(PACKAGE)} imports {name}"
        for path in sorted((PACKAGE / layer).rglob("*.py"))
        for name in sorted(imports_of(path))
        if any(name == banned or name.startswith(banned + ".") for banned in FORBIDDEN[layer])
    ]
    assert offences == []
