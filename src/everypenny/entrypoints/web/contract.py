"""The published API contract (/openapi.json): every answer a route gives, its refusals included.

Routes document their own answers with the response dicts below; `published_openapi` adds what holds for
every route (413 from the body limit) and the request schemas of routes that read their body themselves.
tests/e2e/test_api_contract.py holds the app to it with schemathesis.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema


class Problem(BaseModel):
    """Why a request was refused, in a sentence."""

    detail: str


class FieldProblem(BaseModel):
    field: str
    reason: str


class FieldProblems(BaseModel):
    """Each field that is wrong, and why: a form can show every problem at once."""

    detail: list[FieldProblem]


def _json(model: type[BaseModel], description: str) -> dict[str, Any]:
    # Named content, not FastAPI's "model": a route that answers with HTML documents its refusals as JSON.
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}}}


def problem(description: str) -> dict[str, Any]:
    return _json(Problem, description)


def field_problems(description: str) -> dict[str, Any]:
    return _json(FieldProblems, description)


def html_page(description: str) -> dict[str, Any]:
    """An answer that is a web page for people, such as a 429 on a public form."""
    return {"description": description, "content": {"text/html": {"schema": {"type": "string"}}}}


def text(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"text/plain": {"schema": {"type": "string"}}}}


Responses = dict[int | str, dict[str, Any]]  # a route's `responses`, as FastAPI takes them
UNKNOWN_APPEAL: Responses = {404: problem("no appeal has this slug")}
UNSIGNED: Responses = {400: problem("the body is not the provider's format"),
                       403: problem("the signature is missing or wrong")}
TOO_LARGE = text("the body is larger than this address accepts (EVERYPENNY_MAX_BODY_BYTES, or "
                 "EVERYPENNY_MAX_WEBHOOK_BODY_BYTES for webhooks)")
HEADERS_TOO_LARGE = text("more headers, or more bytes of them, than EVERYPENNY_MAX_HEADERS and "
                         "EVERYPENNY_MAX_HEADER_BYTES allow")


def published_openapi(app: FastAPI, request_models: tuple[type[BaseModel], ...]) -> dict[str, Any]:
    """FastAPI's document, plus the schemas of bodies routes read themselves and of the refusals above,
    plus 413 wherever a body goes and 431 everywhere."""
    if app.openapi_schema is None:
        document = get_openapi(title=app.title, version=app.version, summary=app.summary, routes=app.routes)
        models = (*request_models, Problem, FieldProblems)
        _, definitions = models_json_schema([(model, "validation") for model in models],  # type: ignore[misc]
                                            ref_template="#/components/schemas/{model}")
        document.setdefault("components", {}).setdefault("schemas", {}).update(definitions.get("$defs", {}))
        for operations in document["paths"].values():
            for operation in operations.values():
                if "requestBody" in operation:
                    operation["responses"].setdefault("413", TOO_LARGE)
                operation["responses"].setdefault("431", HEADERS_TOO_LARGE)
        app.openapi_schema = document
    return app.openapi_schema
