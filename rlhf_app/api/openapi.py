"""The OpenAPI 3.1 document: each API module registers its paths with ``document``."""
from __future__ import annotations

from typing import Any

PATHS: dict[str, dict[str, Any]] = {}

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"type": "object", "required": ["code", "message", "details"], "properties": {
        "code": {"type": "string"}, "message": {"type": "string"}, "details": {"type": "object"}}}},
}


def document(path: str, method: str, summary: str, *, responses: dict[str, Any] | None = None,
             request_body: dict[str, Any] | None = None, parameters: list[dict[str, Any]] | None = None) -> None:
    """Register one operation; the standard error responses are added for every operation."""
    operation: dict[str, Any] = {"summary": summary, "responses": {
        **(responses or {"200": {"description": "OK"}}),
        "401": _error("No valid bearer token."), "403": _error("The token's user may not do this."),
        "404": _error("Not found, or not yours."), "422": _error("The input is not valid."),
    }}
    if request_body is not None:
        operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": request_body}}}
    if parameters:
        operation["parameters"] = parameters
    PATHS.setdefault(path, {})[method.lower()] = operation


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def build_document(version: str) -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "rlhf-app API", "version": version,
                 "description": "Send `Authorization: Bearer <token>`; create tokens with `rlhf tokens create EMAIL`."},
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
                       "schemas": {"Error": ERROR_SCHEMA}},
        "paths": dict(sorted(PATHS.items())),
    }
