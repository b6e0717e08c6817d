"""The topic registry: every topic of the public contract, in one place.

Tests, `tousu up` and docker-compose.yml create topics from this table, and the
codec checks that every record type named here has a schema in schemas/.
"""
from __future__ import annotations

from dataclasses import dataclass

# The one list of what the system runs, in start order. Services write the
# contract's topics; read models (the statistics, the desk's listings and
# pages) consume them and publish nothing but dead letters.
SERVICES = ("intake", "routing", "mediation", "enforcement")
READ_MODELS = ("statistics", "desk")
EVERYTHING = SERVICES + READ_MODELS
# The services whose hop a complainant waits for: routing decides, mediation
# opens the case. The others (intake's status pages, enforcement's cases,
# the read models) are read by people a moment later: they fetch less often.
PROMPT = ("routing", "mediation")

# A referral inbox exists per external agency; its name is this prefix plus the
# agency id, created from the directory on first use.
REFERRAL_PREFIX = "referrals."


@dataclass(frozen=True)
class Topic:
    name: str
    record_types: tuple[str, ...]
    writers: tuple[str, ...]
    key: str
    partitions: int = 4
    description: str = ""
    # Broker settings the topic is created with, as (name, value) pairs.
    configs: tuple[tuple[str, str], ...] = ()


# Topics outside parties read from (a regulator, an agency, a consumer
# association) keep every message: their readers may start at any time.
FOREVER = (("retention.ms", "-1"), ("retention.bytes", "-1"))


REGISTRY: tuple[Topic, ...] = (
    Topic("complaints.received",
          ("ComplaintReceived", "ReportReceived", "ConsultationReceived"),
          ("intake",), "complaint_id",
          description="Every request as intake received it."),
    Topic("complaints.decisions",
          ("ComplaintAccepted", "ComplaintRejected", "ComplaintReferred",
           "ComplaintTransferred", "DecisionOverdue", "ReferralAnswered"),
          ("routing",), "complaint_id",
          description="Jurisdiction and acceptance decisions."),
    Topic("referrals.replies", ("ReferralAcknowledged", "ReferralDeclined"),
          ("agencies",), "complaint_id", configs=FOREVER,
          description="Other agencies' answers to referrals."),
    Topic("mediation.events",
          ("MediationOpened", "ConsentRecorded", "MediationScheduled", "MediatorRecused",
           "AppraisalStarted", "AppraisalCompleted", "MediationAgreed", "MediationTerminated",
           "RecusalRequested", "RecusalRefused", "TerminationNotified", "TerminationNoticeOverdue",
           "MediationDueRecomputed"),
          ("mediation",), "complaint_id",
          description="The life of each mediation case."),
    Topic("violations.found", ("ViolationFound",), ("routing", "mediation"), "complaint_id",
          description="Suspected violations of law seen while handling complaints."),
    Topic("enforcement.cases",
          ("PenaltyCaseOpened", "CaseFilingDeclined", "InvestigationStarted",
           "PenaltyDecided", "PenaltyCaseClosed", "PenaltyCaseComplaintLinked", "PenaltyCaseCheckExtended"),
          ("enforcement",), "case_id",
          description="Penalty cases, each with its own id."),
    # One partition: a regulator reads each service's chain in order, and the key
    # (the service name) would put each chain in one partition anyway.
    Topic("audit.log", ("AuditRecord",), SERVICES, "service", partitions=1, configs=FOREVER,
          description="Every stored domain event of every service, hash-chained per service."),
    Topic("public.complaints", ("PublicComplaintUpdate",), ("routing", "mediation"), "complaint_id", configs=FOREVER,
          description="Complaint status with no personal data."),
    Topic("deadletter", ("DeadLetter",), SERVICES + READ_MODELS, "complaint_id", partitions=1,
          description="Input that could not be decoded or was invalid, with the error."),
)

# The pattern entry for the per-agency inboxes.
REFERRAL_INBOX = Topic(REFERRAL_PREFIX + "{agency_id}", ("ReferralIssued",), ("routing",),
                       "complaint_id", partitions=1, configs=FOREVER,
                       description="One inbox per external agency.")

BY_NAME = {t.name: t for t in REGISTRY}


class UnknownTopic(LookupError):
    pass


def topic(name: str) -> Topic:
    """The registry entry for a concrete topic name (referral inboxes included)."""
    if name in BY_NAME:
        return BY_NAME[name]
    if name.startswith(REFERRAL_PREFIX) and name != "referrals.replies":
        return REFERRAL_INBOX
    raise UnknownTopic(f"no topic {name!r} in the registry")


def referral_inbox(agency_id: str) -> str:
    return REFERRAL_PREFIX + agency_id


def record_types() -> set[str]:
    return {r for t in (*REGISTRY, REFERRAL_INBOX) for r in t.record_types}


def topics_carrying(record_type: str) -> list[Topic]:
    return [t for t in (*REGISTRY, REFERRAL_INBOX) if record_type in t.record_types]
