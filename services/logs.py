"""Logs: JSON lines for the services (one object a line, with the request id of
the HTTP request being served), plain text for one-shot commands.

TOUSU_LOG_FORMAT=text gives running services plain lines too."""
from __future__ import annotations

import json
import logging
import os
import sys
from datetime import datetime, timezone

from services.bus.correlation import request_id

TEXT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class TextFormatter(logging.Formatter):
    """Plain lines, naming the service that wrote them (the services of `tousu
    up` share one terminal) and ending with the request id when the line was
    written on a request's behalf, as the JSON lines carry both."""

    def __init__(self, service: str | None = None):
        super().__init__(TEXT.replace("%(name)s", f"{service} %(name)s") if service else TEXT)

    def formatMessage(self, record: logging.LogRecord) -> str:  # before any traceback
        line = super().formatMessage(record)
        rid = getattr(record, "request_id", None)
        return f"{line} [request_id={rid}]" if rid else line


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            record.request_id = request_id.get()
        return True


class JsonFormatter(logging.Formatter):
    # Attributes every LogRecord has; anything else was passed with `extra=` and is kept.
    STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "request_id"}

    def __init__(self, service: str | None = None):
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        line = {"time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
                "level": record.levelname, "logger": record.name, "message": record.getMessage()}
        if self.service:
            # "routing-2" names the second worker of routing; "service" stays the service's name.
            line["service"] = self.service.rsplit("-", 1)[0] if self.service[-1:].isdigit() else self.service
            line["worker"], line["pid"] = self.service, os.getpid()
        if getattr(record, "request_id", None):
            line["request_id"] = record.request_id
        for key, value in vars(record).items():
            if key not in self.STANDARD and not key.startswith("_"):
                line[key] = value if isinstance(value, (str, int, float, bool, type(None))) else str(value)
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


FORMATS = ("json", "text")


def log_format() -> str:
    """TOUSU_LOG_FORMAT, checked: a misspelt value stops the command rather
    than being read as one or the other."""
    value = os.environ.get("TOUSU_LOG_FORMAT", "json").lower()
    if value not in FORMATS:
        raise ValueError(f"TOUSU_LOG_FORMAT={os.environ['TOUSU_LOG_FORMAT']!r}: one of {', '.join(FORMATS)}")
    return value


def configure(level: str, json_lines: bool, service: str | None = None) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RequestIdFilter())
    if json_lines and log_format() == "json":
        handler.setFormatter(JsonFormatter(service))
    else:
        handler.setFormatter(TextFormatter(service))
    handler.set_name("tousu")
    root = logging.getLogger()
    # Ours replaced (main() may run twice in one process); anyone else's kept.
    for old in [h for h in root.handlers if h.get_name() == "tousu"]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
