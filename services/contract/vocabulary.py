"""Enums of the public contract that several services check against."""
from __future__ import annotations

# ViolationFound.violation_type and a report's alleged_violation.
VIOLATION_TYPES = (
    "FALSE_ADVERTISING", "SUBSTANDARD_GOODS", "EXPIRED_GOODS", "COUNTERFEIT", "PRICE_FRAUD",
    "UNFAIR_TERMS", "REFUSED_STATUTORY_RETURN", "FOOD_SAFETY", "UNLICENSED_OPERATION", "OTHER",
)
