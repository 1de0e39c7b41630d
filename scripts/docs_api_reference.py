"""MkDocs hook: the API reference page, generated at build time from the app's own OpenAPI document.

The page and `api/openapi.json` are written into the built site only, so the reference can never drift
from the routes: a route added, renamed or documented differently shows on the next build."""

from __future__ import annotations

import html
import json

from mkdocs.structure.files import File, Files

from everypenny import bootstrap
from everypenny.config import Settings
from everypenny.entrypoints.web.app import create_app

PAGE = "api.md"
DOCUMENT = "api/openapi.json"
METHODS = ("get", "post", "put", "patch", "delete")


def openapi_document() -> dict:
    """The document FastAPI serves at /openapi.json, from an app on a throwaway in-memory store."""
    platform = bootstrap.build(Settings(database_url="sqlite://"), check_schema=False)
    try:
        return create_app(platform).openapi()
    finally:
        platform.engine.dispose()


def on_files(files: Files, config) -> Files:
    document = openapi_document()
    files.append(File.generated(config, DOCUMENT, content=json.dumps(document, indent=2)))
    files.append(File.generated(config, PAGE, content=render(document)))
    return files


def _text(text: object) -> str:
    """A description as plain text: HTML in it (the widget's <script> line) is shown, never run."""
    return html.escape(str(text).strip(), quote=False)


def _cell(text: object) -> str:
    return " ".join(_text(text).split()).replace("|", "\\|")


def _type(schema: dict) -> str:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        return f"[{name}](#{name.lower()})"
    if "anyOf" in schema:
        return " or ".join(_type(option) for option in schema["anyOf"])
    if schema.get("type") == "array":
        return f"array of {_type(schema.get('items', {}))}"
    if "additionalProperties" in schema and isinstance(schema["additionalProperties"], dict):
        return f"object of {_type(schema['additionalProperties'])}"
    return schema.get("type", "any") + (f" ({schema['format']})" if "format" in schema else "")


def _operation(path: str, method: str, operation: dict) -> list[str]:
    lines = [f"### {method.upper()} `{path}`", ""]
    if summary := operation.get("summary"):
        lines += [f"**{summary}**", ""]
    if description := operation.get("description"):
        lines += [_text(description), ""]
    if parameters := operation.get("parameters"):
        lines += ["| parameter | in | required | type | description |", "| --- | --- | --- | --- | --- |"]
        lines += [f"| `{p['name']}` | {p['in']} | {'yes' if p.get('required') else 'no'} | "
                  f"{_type(p.get('schema', {}))} | {_cell(p.get('description', ''))} |" for p in parameters]
        lines.append("")
    if body := operation.get("requestBody"):
        kinds = ", ".join(f"`{kind}` {_type(content.get('schema', {}))}" for kind, content in body["content"].items())
        lines += [f"Request body ({'required' if body.get('required') else 'optional'}): {kinds}", ""]
    lines += ["| status | meaning | body |", "| --- | --- | --- |"]
    for status, response in operation.get("responses", {}).items():
        content = response.get("content", {})
        shape = ", ".join(f"`{kind}` {_type(c.get('schema', {}))}".strip() for kind, c in content.items())
        lines.append(f"| {status} | {_cell(response.get('description', ''))} | {shape} |")
    return [*lines, ""]


def _schema(name: str, schema: dict) -> list[str]:
    lines = [f"### {name}", ""]
    if description := schema.get("description"):
        lines += [_cell(description), ""]
    if "enum" in schema:
        return [*lines, "One of: " + ", ".join(f"`{value}`" for value in schema["enum"]), ""]
    required = set(schema.get("required", []))
    lines += ["| field | type | required | description |", "| --- | --- | --- | --- |"]
    lines += [f"| `{field}` | {_type(spec)} | {'yes' if field in required else 'no'} | "
              f"{_cell(spec.get('description', ''))} |" for field, spec in schema.get("properties", {}).items()]
    return [*lines, ""]


def render(document: dict) -> str:
    info = document["info"]
    lines = ["# API reference", "",
             f"{info.get('summary', '')} Version {info['version']}, OpenAPI {document['openapi']}: generated from "
             f"the app's routes when the docs are built; the document itself is [openapi.json]({DOCUMENT}), and "
             "a running app serves it at `/openapi.json` with interactive pages at `/docs`.", ""]
    by_tag: dict[str, list[tuple[str, str, dict]]] = {}
    for path, item in document["paths"].items():
        for method in METHODS:
            if operation := item.get(method):
                by_tag.setdefault((operation.get("tags") or ["other"])[0], []).append((path, method, operation))
    for tag, operations in by_tag.items():
        lines += [f"## {tag.capitalize()}", ""]
        for path, method, operation in operations:
            lines += _operation(path, method, operation)
    lines += ["## Schemas", ""]
    for name, schema in document.get("components", {}).get("schemas", {}).items():
        lines += _schema(name, schema)
    return "\n".join(lines)
