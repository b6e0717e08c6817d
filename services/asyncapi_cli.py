"""The AsyncAPI document at the edges: `tousu asyncapi` and `GET /asyncapi.json`."""
from __future__ import annotations

import json
import sys
from functools import lru_cache

from services.asyncapi import DEFAULT_EXTERNAL, DEFAULT_HOST, document


def add_arguments(parser) -> None:
    parser.add_argument("--yaml", action="store_true", help="YAML instead of JSON")
    parser.add_argument("--output", "-o", metavar="FILE", help="write to FILE instead of stdout")
    parser.add_argument("--server", metavar="HOSTS", default=None,
                        help=f"production bootstrap servers, as in KAFKA_BOOTSTRAP_SERVERS (default {DEFAULT_HOST})")
    parser.add_argument("--external", metavar="HOST:PORT", default=None,
                        help=f"the listener outside parties connect to (default {DEFAULT_EXTERNAL})")


def render(doc: dict, as_yaml: bool = False) -> str:
    if as_yaml:
        import yaml

        # Keys keep the document's order: asyncapi and info first, as readers expect.
        return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, width=100)
    return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"


def cmd_asyncapi(args) -> int:
    text = render(document(getattr(args, "server", None), getattr(args, "external", None)),
                  getattr(args, "yaml", False))
    output = getattr(args, "output", None)
    if output and output != "-":
        with open(output, "w", encoding="utf-8") as out:
            out.write(text)
    else:
        sys.stdout.write(text)
    return 0


@lru_cache(maxsize=1)
def _served() -> dict:
    # The document depends only on code and schemas, so one build per process.
    return document()


def router():
    from fastapi import APIRouter
    from fastapi.responses import JSONResponse

    api = APIRouter(tags=["bus"])

    @api.get("/asyncapi.json", response_class=JSONResponse,
             summary="The AsyncAPI 3.0 document of every topic, message and subscriber")
    def asyncapi_json():
        return JSONResponse(_served())

    return api
