"""From a POSTed body to the record intake stores and publishes."""
from __future__ import annotations

import re
from collections import deque
from functools import lru_cache

from pydantic import ValidationError
from pydantic_core import PydanticCustomError

from services.http import Problem

from . import models, problems
from .addresses import fill_missing_adcodes


def parse(data: object) -> tuple[str, dict]:
    """(kind, record); raises pydantic.ValidationError for malformed input."""
    _refuse_unpaired_surrogates(data)
    kind, record = models.to_record(models.parse_submission(data))
    if kind == "CONSULTATION":
        # A consultation is answered and closed here; who asked stays in intake's store.
        return kind, record
    return kind, fill_missing_adcodes(record)


_SURROGATE = re.compile("[\ud800-\udfff]")
_NOT_TEXT = PydanticCustomError(
    "unpaired_surrogate", "not text: a \\ud800-\\udfff escape without its pair encodes no character")


def _refuse_unpaired_surrogates(data: object) -> None:
    """JSON lets a string carry half a surrogate pair (`"\\ud800"`); Python reads
    it as a str that no UTF-8 store or Avro message can hold. Refused as malformed,
    naming the field, before it can fail the store with a 500."""
    found, queue = [], deque([((), data)])
    while queue:  # iterative: the body may be nested as deep as the JSON parser allows
        path, value = queue.popleft()
        if isinstance(value, str):
            if _SURROGATE.search(value):
                found.append(path)
        elif isinstance(value, dict):
            for key, item in value.items():
                if _SURROGATE.search(key):
                    found.append((*path, key.encode("utf-8", "backslashreplace").decode("ascii", "replace")))
                else:
                    queue.append(((*path, key), item))
        elif isinstance(value, list):
            queue.extend(((*path, index), item) for index, item in enumerate(value))
    if found:
        raise ValidationError.from_exception_data(
            "Submission", [{"type": _NOT_TEXT, "loc": path, "input": None} for path in found])


def problem(exc: ValidationError) -> Problem:
    return problems.invalid(exc)


@lru_cache(maxsize=1)
def json_schema() -> dict:
    return models.SUBMISSION.json_schema(ref_template="#/components/schemas/{model}")
