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


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path, known: set[str]) -> set[str]:
    """The package's own modules `path` imports, anywhere in it (a late import inside a function counts too):
    `from package import module` names the module, `from module import name` the module."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in known)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            submodules = {f"{node.module}.{alias.name}" for alias in node.names} & known
            found.update(submodules or ({node.module} & known))
    return found


def import_cycles(modules: dict[str, set[str]]) -> list[list[str]]:
    cycles, finished = [], set()

    def visit(name: str, trail: list[str]) -> None:
        if name in trail:
            cycles.append([*trail[trail.index(name):], name])
            return
        if name in finished:
            return
        for imported in sorted(modules[name]):
            visit(imported, [*trail, name])
        finished.add(name)

    for name in sorted(modules):
        visit(name, [])
    return cycles


def test_the_command_line_modules_import_each_other_without_a_circle():
    paths = sorted((PACKAGE / "entrypoints").rglob("*.py"))
    known = {module_name(path) for path in paths}
    graph = {module_name(path): imported_modules(path, known) for path in paths}

    assert [" → ".join(cycle) for cycle in import_cycles(graph)] == []
    assert "everypenny.entrypoints.cli.shared" in graph, "the CLI package keeps its shared helpers at the bottom"
    assert graph["everypenny.entrypoints.cli.shared"] == set()


def test_the_circle_check_finds_a_late_import_that_closes_a_circle(tmp_path):
    (tmp_path / "top.py").write_text("from pkg.bottom import helper\n")
    (tmp_path / "bottom.py").write_text("def helper():\n    from pkg import top\n")
    known = {"pkg.top", "pkg.bottom"}
    graph = {f"pkg.{name}": imported_modules(tmp_path / f"{name}.py", known) for name in ("top", "bottom")}

    assert import_cycles(graph) == [["pkg.bottom", "pkg.top", "pkg.bottom"]]
