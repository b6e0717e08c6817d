"""What the desk's listings answer, as OpenAPI schemas (documented, and the
shape the routes build)."""
from __future__ import annotations

from pydantic import BaseModel, Field


class ComplaintItem(BaseModel):
    complaint_id: str
    kind: str
    status: str
    channel: str | None = None
    receiving_agency_id: str | None = None
    agency_id: str | None = Field(None, description="The handling agency (the receiving one until decided)")
    subject_area: str | None = None
    respondent_name: str | None = None
    respondent_uscc: str | None = None
    city_adcode: str | None = None
    received_at: str | None = None
    decided_at: str | None = None
    decision_due: str | None = None
    decision_overdue: bool = False
    mediation_due: str | None = None
    mediation_paused: bool = False
    deadline: str | None = Field(None, description="The date by which the handling bureau must act next")
    overdue: bool = False
    outcome: str | None = None
    reason: str | None = None
    amount_recovered_fen: int | None = None
    workers: list[str] = []
    case_ids: list[str] = []
    consumer_name: str | None = Field(None, description="Only for roles that may see personal data")
    consumer_phone: str | None = Field(None, description="Only for roles that may see personal data")
    updated_at: str | None = None


class CaseItem(BaseModel):
    case_id: str
    origin: str | None = None
    status: str
    agency_id: str | None = None
    violation_type: str | None = None
    respondent_name: str | None = None
    respondent_uscc: str | None = None
    complaint_ids: list[str] = []
    opened_at: str | None = None
    filing_due: str | None = None
    deadline: str | None = None
    fine_fen: int | None = None
    outcome: str | None = None


class ReferralItem(BaseModel):
    id: str
    complaint_id: str
    to_agency_id: str
    from_agency_id: str | None = None
    referral_id: str | None = None
    subject_area: str | None = None
    status: str
    referred_at: str | None = None
    answered_at: str | None = None
    answer_reason: str | None = None
    respondent_name: str | None = None
    respondent_uscc: str | None = None
    consumer_name: str | None = Field(None, description="For the addressed agency and the referring bureaus")
    consumer_phone: str | None = Field(None, description="For the addressed agency and the referring bureaus")
    facts: str | None = Field(None, description="For the addressed agency and the referring bureaus")


class PublicComplaintItem(BaseModel):
    complaint_id: str
    status: str
    respondent_name: str | None = None
    respondent_uscc: str | None = None
    subject_area: str | None = None
    city_adcode: str | None = None
    received_on: str | None = None
    decided_on: str | None = None
    outcome: str | None = None


class _Page(BaseModel):
    next_cursor: str | None = Field(None, description="Pass as `cursor` for the next page; null on the last")
    sort: str
    limit: int | None = None


class ComplaintPage(_Page):
    items: list[ComplaintItem]


class CasePage(_Page):
    items: list[CaseItem]


class ReferralPage(_Page):
    items: list[ReferralItem]


class PublicComplaintPage(_Page):
    items: list[PublicComplaintItem]


class MonthFigures(BaseModel):
    month: str
    complaints: int
    agreed: int


class OperatorDisclosure(BaseModel):
    respondent_uscc: str
    respondent_names: list[str]
    complaints: int
    concluded: int = Field(description="Complaints whose mediation ended, agreed or not")
    agreed: int
    agreed_share: float | None = Field(None, description="agreed / concluded; null when none concluded")
    amount_recovered_fen: int
    by_month: list[MonthFigures]
