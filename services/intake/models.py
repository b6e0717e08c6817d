"""The body of `POST /complaints`: complaints, reports and consultations, told
apart by `kind`.

Validation refuses only what is malformed: wrong types, unknown enum values,
failed checksums, phone numbers and codes that cannot exist, dates that are not
dates. What a complaint may lack and still be well formed (a respondent's name,
demands, facts, the dates) is optional here, because its absence is a decision
routing takes and tells the complainant about, with a reason code.

An empty string in an optional field means "not given": web forms send "" for
a box left blank, and that is not a malformed code.
"""
from __future__ import annotations

import re
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Literal, Union

from pydantic import (AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, StrictInt,
                      StrictStr, StringConstraints, TypeAdapter, ValidationInfo, WithJsonSchema, field_validator)
from stdnum.cn import ric, uscc
from stdnum.exceptions import ValidationError as NumberError


def _symbols(name: str, symbols: str) -> type[StrEnum]:
    return StrEnum(name, [(symbol, symbol) for symbol in symbols.split()])


Kind = _symbols("Kind", "COMPLAINT REPORT CONSULTATION")
Channel = _symbols("Channel", "HOTLINE_12315 WEB APP LETTER VISIT SMS TRANSFER")
AgencyKind = _symbols("AgencyKind", "AMR EEB HC EDU TRANS HOUSING TOUR CA NFRA POST")
SubjectArea = _symbols("SubjectArea", "GOODS_QUALITY SERVICE_CONTRACT FOOD PRICE ADVERTISING OTHER_MARKET "
                                      "ENVIRONMENT MEDICAL EDUCATION TRANSPORT HOUSING TOURISM TELECOM FINANCE POSTAL")
Purpose = _symbols("Purpose", "DAILY_CONSUMPTION BUSINESS UNKNOWN")
Demand = _symbols("Demand", "REFUND EXCHANGE REPAIR COMPENSATION APOLOGY OTHER")
ViolationType = _symbols("ViolationType", "FALSE_ADVERTISING SUBSTANDARD_GOODS EXPIRED_GOODS COUNTERFEIT "
                                          "PRICE_FRAUD UNFAIR_TERMS REFUSED_STATUTORY_RETURN FOOD_SAFETY "
                                          "UNLICENSED_OPERATION OTHER")
PriorHandlingBody = _symbols("PriorHandlingBody", "AMR_MEDIATION CONSUMER_ASSOCIATION PEOPLES_MEDIATION COURT "
                                                  "ARBITRATION OTHER_AGENCY")
PriorHandlingStatus = _symbols("PriorHandlingStatus", "IN_PROGRESS CONCLUDED")
IdentityVerification = _symbols("IdentityVerification", "VERIFIED PENDING REFUSED IMPERSONATION")

# Agencies the contract places at province level only.
PROVINCIAL_AGENCIES = frozenset({"CA", "NFRA", "POST"})
# The 31 mainland provinces; Hong Kong, Macao and Taiwan have codes but no bureaus here.
MAINLAND_PROVINCES = frozenset("11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 "
                               "50 51 52 53 54 61 62 63 64 65".split())

_SEPARATORS = re.compile(r"[\s\-－()（）.]")
_MOBILE = re.compile(r"1[3-9][0-9]{9}")
# 010 and 02X are the only three-digit area codes, so where the area code ends
# is known from its second digit and the number can be written back unambiguously.
_LANDLINE = re.compile(r"(0(?:10|2[0-9])|0[3-9][0-9]{2})([2-9][0-9]{6,7})")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_ADCODE = re.compile(r"[0-9]{6}")
_AGENCY_ID = re.compile(rf"({'|'.join(AgencyKind)})-([0-9]{{6}})")


def phone_number(value: str) -> str:
    """A mainland number in one written form: `13812345678` or `021-62345678`.
    Spaces, hyphens, dots, brackets and a +86 / 0086 / 86 prefix are accepted."""
    digits = _SEPARATORS.sub("", value)
    for prefix in ("+86", "0086", "86"):
        if digits.startswith(prefix):
            digits = digits[len(prefix):]
            if digits[:1] not in ("0", "1"):
                digits = "0" + digits  # the area code's 0 is dropped after +86
            break
    if _MOBILE.fullmatch(digits):
        return digits
    landline = _LANDLINE.fullmatch(digits)
    if landline:
        return f"{landline[1]}-{landline[2]}"
    raise ValueError("not a mainland China phone number: a mobile number (1[3-9] and 9 more digits) "
                     "or a landline with its area code, e.g. 021-62345678")


def _checked(module, what: str):
    def check(value: str) -> str:
        try:
            return module.validate(value)
        except NumberError as exc:  # the message names the defect, never echoes the number
            raise ValueError(f"not a valid {what}: {exc.message}") from None
    return check


def _adcode(value: str) -> str:
    if not _ADCODE.fullmatch(value) or value[:2] not in MAINLAND_PROVINCES:
        raise ValueError("not a mainland division code: six digits starting with a province's two, e.g. 310115")
    return value


def _agency_id(value: str) -> str:
    match = _AGENCY_ID.fullmatch(value)
    if not match:
        raise ValueError(f"not an agency id: KIND-ADCODE with KIND one of {', '.join(AgencyKind)}, e.g. AMR-310115")
    _adcode(match[2])
    if match[1] in PROVINCIAL_AGENCIES and not match[2].endswith("0000"):
        raise ValueError(f"a {match[1]} agency serves a province: its code ends in 0000, e.g. {match[1]}-310000")
    return value


def _iso_date(value: object) -> date:
    # Lax pydantic would read 20240101 as seconds since 1970; a date is written YYYY-MM-DD.
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and _ISO_DATE.fullmatch(value):
        return date.fromisoformat(value)  # ValueError for 2024-02-30
    raise ValueError("not a date: write it YYYY-MM-DD")


def _blank_is_none(value: object) -> object:
    return None if isinstance(value, str) and not value.strip() else value


def _none_is(default):
    return BeforeValidator(lambda value: default() if value is None else value)


def _string(check, schema: dict):
    return Annotated[StrictStr, AfterValidator(check), WithJsonSchema({"type": "string", **schema})]


def optional(annotation):
    return Annotated[annotation | None, BeforeValidator(_blank_is_none)]


Phone = _string(phone_number, {"examples": ["13812345678", "021-62345678"]})
Uscc = _string(_checked(uscc, "unified social credit code"),
               {"description": "18 characters with a valid check character", "examples": ["91310115MA1K3YJ12G"]})
IdNumber = _string(_checked(ric, "resident identity number"),
                   {"description": "18 characters with a valid check character"})
Adcode = _string(_adcode, {"pattern": "^[0-9]{6}$", "examples": ["310115"]})
AgencyId = _string(_agency_id, {"pattern": f"^({'|'.join(AgencyKind)})-[0-9]{{6}}$", "examples": ["AMR-310115"]})
IsoDate = Annotated[date, BeforeValidator(_iso_date), WithJsonSchema({"type": "string", "format": "date"})]
Text = Annotated[StrictStr, StringConstraints(strip_whitespace=True, min_length=1)]
Fen = Annotated[StrictInt, Field(ge=0, le=2**63 - 1)]  # Avro long


class _Body(BaseModel):
    # An unknown field is most often a misspelt known one ("demand"); dropping it
    # silently would turn a complete complaint into one routing must reject.
    model_config = ConfigDict(extra="forbid", use_enum_values=True)


class Consumer(_Body):
    name: Text
    phone: Phone
    id_number: optional(IdNumber) = None
    address: StrictStr | None = None


class Respondent(_Body):
    name: StrictStr | None = None
    uscc: optional(Uscc) = None
    address: StrictStr | None = None
    adcode: optional(Adcode) = None


class Platform(_Body):
    name: StrictStr
    uscc: optional(Uscc) = None
    adcode: optional(Adcode) = None
    # Order No. 121 art. 13: a merchant with no address listed on the platform
    # is placed at the platform operator's domicile.
    seller_address_listed: StrictBool | None = None


class Transaction(_Body):
    date: optional(IsoDate) = None
    place_adcode: optional(Adcode) = None
    amount_fen: Fen | None = None
    online: StrictBool
    platform: Platform | None = None


class PriorHandling(_Body):
    body: PriorHandlingBody
    status: PriorHandlingStatus


class Agent(_Body):
    """Someone complaining for the consumer (art. 13), on a power of attorney
    filed with the bureau; the reference lets staff find it."""
    name: Text
    phone: Phone
    id_number: optional(IdNumber) = None
    power_of_attorney_ref: StrictStr | None = None
    power_of_attorney_scope: StrictStr | None = None
    power_of_attorney_expires: optional(IsoDate) = None


class _Filing(_Body):
    channel: Channel
    receiving_agency_id: AgencyId
    consumer: Consumer
    respondent: Annotated[Respondent, _none_is(dict)] = Field(default_factory=Respondent)
    transaction: Transaction
    subject_area: SubjectArea
    purpose: Purpose = "UNKNOWN"
    facts: StrictStr | None = None
    aware_date: optional(IsoDate) = None
    has_evidence: StrictBool
    goods_expiry_date: optional(IsoDate) = None
    prior_handling: Annotated[list[PriorHandling], _none_is(list)] = Field(default_factory=list)
    preferred_agency_id: optional(AgencyId) = None
    agent: Agent | None = None


# Order 20 art. 11, Order 121 art. 12 (Order 62 art. 14): a joint complaint may
# elect, in writing, two representatives; no more.
MAX_REPRESENTATIVES = 2


class ComplaintBody(_Filing):
    kind: Literal["COMPLAINT"]
    demands: Annotated[list[Demand], _none_is(list)] = Field(default_factory=list)
    # A joint complaint (Order 20 art. 11, Order 121 art. 12): the other consumers
    # of the same dispute with the same respondent, who agreed to complain together.
    co_consumers: Annotated[list[Consumer], _none_is(list)] = Field(default_factory=list)
    # The names of the one or two consumers elected to act for all; none: each
    # consumer acts for themselves and the first named (`consumer`) files.
    representatives: Annotated[list[Text], _none_is(list)] = Field(default_factory=list)
    # Staff findings Order No. 121 makes grounds for not accepting (art. 16(5),
    # 16(6)); optional, and not read under the older rulebooks.
    identity_verification: optional(IdentityVerification) = None
    false_materials: StrictBool | None = None
    # Set when the complaint also reports a violation: intake files two linked requests.
    alleged_violation: ViolationType | None = None

    @field_validator("representatives")
    @classmethod
    def _elected_among_the_consumers(cls, names: list[str], info: ValidationInfo) -> list[str]:
        """A representative's choices bind the consumers they act for, so who
        they are must be beyond doubt: one of the complaint's consumers, named once."""
        if not names:
            return names
        if len(names) > MAX_REPRESENTATIVES:
            raise ValueError(f"a joint complaint elects at most {MAX_REPRESENTATIVES} representatives "
                             f"(Order 20 art. 11, Order 121 art. 12), not {len(names)}")
        co_consumers = info.data.get("co_consumers")
        consumer = info.data.get("consumer")
        if co_consumers is None or consumer is None:
            return names  # the consumers themselves are malformed: that error is said instead
        if not co_consumers:
            raise ValueError("representatives act for a joint complaint: name the other consumers in co_consumers")
        everyone = [consumer.name, *(c.name for c in co_consumers)]
        for name in names:
            if everyone.count(name) != 1:
                raise ValueError(f"{name!r} is not the name of exactly one of the complaint's consumers "
                                 "(consumer and co_consumers)")
        if len(set(names)) != len(names):
            raise ValueError("a representative is named twice")
        return names


class ReportBody(_Filing):
    kind: Literal["REPORT"]
    alleged_violation: ViolationType


class ConsultationConsumer(_Body):
    name: StrictStr | None = None
    phone: optional(Phone) = None


class ConsultationBody(_Body):
    kind: Literal["CONSULTATION"]
    channel: Channel
    receiving_agency_id: AgencyId
    consumer: ConsultationConsumer | None = None
    question: Text
    answer: StrictStr | None = None


Submission = Annotated[Union[ComplaintBody, ReportBody, ConsultationBody], Field(discriminator="kind")]
SUBMISSION = TypeAdapter(Submission)


def parse_submission(data: object) -> ComplaintBody | ReportBody | ConsultationBody:
    """Raises pydantic.ValidationError, and nothing else, for any input."""
    return SUBMISSION.validate_python(data)


def to_record(body: ComplaintBody | ReportBody | ConsultationBody) -> tuple[str, dict]:
    """The kind and the record as the event carries it: enum values as strings,
    dates as `date`, absent optional fields as None."""
    return body.kind, body.model_dump(exclude={"kind"})
