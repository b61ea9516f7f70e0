"""OpenAPI extras: the tags in order, operation IDs, links between operations, the
submission example, and what FastAPI leaves out (mounted path parameters, 413)."""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute

from domain.catalog import Catalog
from starter.api.deps import EXAMPLE_APPLICATION_ID, MAX_BODY_BYTES

# The document's tags, in the order Swagger UI shows them.
TAGS: list[dict[str, Any]] = [
    {"name": "applications", "description": "Submit, read and follow applications."},
    {"name": "staff", "description": "The task inbox and reviewers' decisions."},
    {"name": "catalog", "description": "Items, bundles, one form, one set of materials."},
    {"name": "guides", "description": "Service guides (数字政务门牌) and QR codes."},
    {"name": "citizens", "description": "Progress by case number, asking for help."},
    {"name": "licenses", "description": "Public verification of electronic licenses."},
    {"name": "reports", "description": "Reductions and general-window coverage."},
    {"name": "health", "description": "Liveness of Temporal and the store."},
]


def operation_id(route: APIRoute) -> str:
    """Operation IDs are the handlers' names (`submit`, `get_application`, `decide`, ...)."""
    if route.path_format.startswith("/codec"):
        namespaced = "{namespace}" in route.path_format
        return f"codec_{route.name}" + ("_in_namespace" if namespaced else "")
    return route.name


def links(to: dict[str, str], **parameters: str) -> dict[str, Any]:
    return {
        name: {"operationId": operation, "parameters": parameters} for name, operation in to.items()
    }


# OpenAPI links: where a response's values lead (clients and stateful testers follow them).
BY_APPLICATION = {"application_id": "$response.body#/application_id"}
RECEIPT_LINKS = links(
    {
        "GetApplication": "get_application",
        "GetResult": "get_result",
        "Supplement": "supplement",
        "Withdraw": "withdraw",
        "Cancel": "cancel",
    },
    **BY_APPLICATION,
)
ITEM_LINKS = links(
    {
        "GetItem": "get_item",
        "Decide": "decide",
        "Correct": "correct",
        "Inspect": "inspect",
        "Extend": "extend",
    },
    **BY_APPLICATION,
    item_code="$response.body#/items/0/item_code",
)


def submission_examples(catalog: Catalog) -> dict[str, Any]:
    """A valid submission (made-up applicant) for the OpenAPI document and its users."""
    from starter.demo import DEMO_ITEM, demo_submission

    if DEMO_ITEM not in catalog.items:
        return {}
    example = demo_submission(catalog, EXAMPLE_APPLICATION_ID).model_dump(
        mode="json", exclude_none=True
    )
    return {
        "requestBody": {
            "content": {
                "application/json": {
                    "examples": {"window": {"summary": "At the general window", "value": example}}
                }
            }
        }
    }


def complete_openapi(app: FastAPI) -> None:
    """Declare path parameters a mounted router uses without naming them (the codec
    routes' `{namespace}`), so the document describes every request it accepts."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = generate()
        for path, operations in schema.get("paths", {}).items():
            names = re.findall(r"{([^}]+)}", path)
            for op in operations.values():
                if "requestBody" in op:
                    op["responses"].setdefault(
                        "413",
                        {
                            "description": f"The body is over {MAX_BODY_BYTES} bytes.",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/ErrorBody"}
                                }
                            },
                        },
                    )
                params = op.setdefault("parameters", [])
                declared = {p["name"] for p in params if p.get("in") == "path"}
                params.extend(
                    {
                        "name": name,
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string", "minLength": 1, "title": name.title()},
                    }
                    for name in names
                    if name not in declared
                )
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
