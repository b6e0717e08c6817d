"""A refusal of one field of a command: the domain says which, so the HTTP
answer (a 422 problem) names it as intake's refusals do."""
from __future__ import annotations


class InvalidField(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
