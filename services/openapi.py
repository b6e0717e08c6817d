"""The OpenAPI document as tools take it: every schema under components (no
dangling `$ref`), a bearer security scheme on the routes that need a token
(so Swagger's Authorize works), and every error answer documented as the
problem+json the routes send."""
from __future__ import annotations

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

PROBLEM = "application/problem+json"
PROBLEM_SCHEMA = {
    "type": "object", "title": "Problem", "description": "RFC 9457 problem details",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
        "detail": {"type": "string"}, "instance": {"type": "string"},
        "field": {"type": "string", "description": "The failing field, when one failed"},
        "errors": {"type": "array", "items": {"type": "object", "properties": {
            "field": {"type": "string"}, "message": {"type": "string"}}}},
        "current_state": {"type": "string", "nullable": True},
    },
    "additionalProperties": True,
}
STANDARD = {401: "No valid token: missing, malformed, expired or forged",
            403: "The token does not allow this", 422: "The request is malformed: the field is named",
            404: "No such complaint or case here", 409: "Not in a state that allows this: `current_state` says which"}


def _needs_token(operation: dict) -> bool:
    """The caller's token arrives in the Authorization header; in the document
    it becomes the bearer scheme, which Swagger's Authorize fills in."""
    parameters = operation.get("parameters") or []
    kept = [p for p in parameters if not (p.get("in") == "header" and p.get("name", "").lower() == "authorization")]
    if len(kept) == len(parameters):
        return False
    if kept:
        operation["parameters"] = kept
    else:
        operation.pop("parameters")
    return True


def _hoist(node, schemas: dict) -> None:
    """Move every nested `$defs` into components.schemas."""
    if isinstance(node, dict):
        for name, schema in (node.pop("$defs", None) or {}).items():
            schemas.setdefault(name, schema)
            _hoist(schema, schemas)
        for value in node.values():
            _hoist(value, schemas)
    elif isinstance(node, list):
        for value in node:
            _hoist(value, schemas)


def document(app: FastAPI) -> dict:
    doc = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    components = doc.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    _hoist(doc["paths"], schemas)
    _hoist(schemas, schemas)
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    schemas["Problem"] = PROBLEM_SCHEMA
    from .openapi_responses import BY_OPERATION, SCHEMAS

    for name, schema in SCHEMAS.items():
        schemas.setdefault(name, schema)
    components["securitySchemes"] = {"bearer": {
        "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
        "description": "`tousu token issue AGENCY_ID --role ROLE` prints one"}}
    problem = {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            optional, token = operation.pop("x-token-optional", False), _needs_token(operation)
            if token and optional:
                # Open to all: a token adds to the answer, and only one that is not valid is refused.
                operation["security"] = [{}, {"bearer": []}]
                responses.setdefault("401", {"description": STANDARD[401]})
            elif token:
                operation["security"] = [{"bearer": []}]
                for status in (401, 403):
                    responses.setdefault(str(status), {"description": STANDARD[status]})
                # Case work on one complaint or case: it may not be here, or not ready for this.
                if "{complaint_id}" in path or "{case_id}" in path:
                    for status in ((404, 409) if method == "post" else (404,)):
                        responses.setdefault(str(status), {"description": STANDARD[status]})
            if operation.get("parameters") or operation.get("requestBody"):
                responses.setdefault("422", {"description": STANDARD[422]})
            for status, response in responses.items():
                if status[0] in "45":
                    response["content"] = problem
                elif status[0] == "2":
                    for media in (response.get("content") or {}).values():
                        schema = media.get("schema")
                        if schema in ({}, None) or (schema.get("type") == "object" and not schema.get("properties")
                                                    and "$ref" not in schema):
                            known = BY_OPERATION.get((method, path))
                            media["schema"] = ({"$ref": f"#/components/schemas/{known}"} if known
                                               else {"type": "object", "additionalProperties": True})
    return doc


def install(app: FastAPI) -> None:
    def openapi() -> dict:
        if app.openapi_schema is None:
            app.openapi_schema = document(app)
        return app.openapi_schema
    app.openapi = openapi
    _docs(app)


DOCS_ASSETS = "/docs/assets"


def _docs(app: FastAPI) -> None:
    """Swagger UI from files this installation carries: FastAPI's default page
    loads it from a CDN, which a government intranet does not reach."""
    import swagger_ui_bundle
    from fastapi.openapi.docs import get_swagger_ui_html
    from fastapi.responses import RedirectResponse
    from fastapi.staticfiles import StaticFiles

    app.mount(DOCS_ASSETS, StaticFiles(directory=swagger_ui_bundle.swagger_ui_path), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui():
        return get_swagger_ui_html(openapi_url="/openapi.json", title="tousu API",
                                   swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
                                   swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
                                   swagger_favicon_url=f"{DOCS_ASSETS}/favicon-32x32.png",
                                   swagger_ui_parameters={"persistAuthorization": True})

    # ReDoc has no bundle to serve from here; its address keeps working.
    @app.get("/redoc", include_in_schema=False)
    async def redoc():
        return RedirectResponse("/docs")
