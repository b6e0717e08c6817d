"""From a POSTed body to the record intake stores and publishes."""
from __future__ import annotations

from functools import lru_cache

from pydantic import ValidationError

from services.http import ProblemBody

from . import models, problems
from .addresses import fill_missing_adcodes


def parse(data: object) -> tuple[str, dict]:
    """(kind, record); raises pydantic.ValidationError for malformed input."""
    kind, record = models.to_record(models.parse_submission(data))
    if kind == "CONSULTATION":
        # A consultation is answered and closed here; who asked stays in intake's store.
        return kind, record
    return kind, fill_missing_adcodes(record)


def problem(exc: ValidationError) -> ProblemBody:
    return ProblemBody(problems.invalid(exc))


@lru_cache(maxsize=1)
def json_schema() -> dict:
    return models.SUBMISSION.json_schema(ref_template="#/components/schemas/{model}")
