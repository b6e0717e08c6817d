"""One realistic example of every record type, used by the contract tests."""
from datetime import date, datetime, timezone

AT = datetime(2026, 3, 2, 1, 30, tzinfo=timezone.utc)
DUE = datetime(2026, 3, 11, 15, 59, 59, 999000, tzinfo=timezone.utc)
CID = "TS-20260302-1A2B3C4D5E6F"
CASE = "PC-7F3E2D1C0B9A"

CONSUMER = {"name": "张伟", "phone": "13812345678", "id_number": "11010519491231002X",
            "address": "上海市浦东新区世纪大道100号"}
RESPONDENT = {"name": "上海某某电器有限公司", "uscc": "91310115MA1H7GQX2T",
              "address": "上海市浦东新区张杨路500号", "adcode": "310115", "adcode_source": "PROVIDED"}
TRANSACTION = {"date": date(2026, 2, 20), "place_adcode": "310115", "amount_fen": 259900,
               "online": True, "platform": {"name": "某电商平台", "uscc": None, "adcode": "330106"},
               "place_adcode_source": "ADDRESS"}
OPERATOR = {"name": "上海某某电器有限公司", "uscc": "91310115MA1H7GQX2T"}


def _request(**extra):
    return {"event_id": "e-1", "occurred_at": AT, "complaint_id": CID, "channel": "HOTLINE_12315",
            "receiving_agency_id": "AMR-310115", "consumer": CONSUMER, "respondent": RESPONDENT,
            "transaction": TRANSACTION, "subject_area": "GOODS_QUALITY", "purpose": "DAILY_CONSUMPTION",
            **extra, "facts": "购买的冰箱不制冷,商家拒绝退货。", "aware_date": date(2026, 2, 25),
            "has_evidence": True, "goods_expiry_date": None,
            "prior_handling": [{"body": "CONSUMER_ASSOCIATION", "status": "CONCLUDED"}],
            "preferred_agency_id": None, "linked_request_id": None,
            "agent": {"name": "王律师", "phone": "13900001111", "id_number": "110105198001010024",
                      "power_of_attorney_ref": "委托书-2026-031", "power_of_attorney_scope": "代为投诉、参加调解",
                      "power_of_attorney_expires": date(2026, 12, 31)}}


def _event(**fields):
    return {"event_id": "e-1", "occurred_at": AT, "complaint_id": CID, **fields}


def _case(**fields):
    return _event(case_id=CASE, **fields)


EXAMPLES = {
    "ComplaintReceived": {**_request(demands=["REFUND", "COMPENSATION"]),
                          "transaction": {**TRANSACTION, "platform": {**TRANSACTION["platform"],
                                                                      "seller_address_listed": True}},
                          "identity_verification": "VERIFIED", "false_materials": False,
                          "co_consumers": [], "representatives": []},
    "ReportReceived": {**_request(alleged_violation="FALSE_ADVERTISING"),
                       "transaction": {**TRANSACTION, "platform": {**TRANSACTION["platform"],
                                                                   "seller_address_listed": False}}},
    "ConsultationReceived": _event(channel="WEB", receiving_agency_id="AMR-440106",
                                   question="网购七日无理由退货从哪天算起?", answer="自收到商品之日起。"),
    "ComplaintAccepted": _event(agency_id="AMR-310115", jurisdiction_basis="OPERATOR_LOCATION",
                                decided_at=AT, decision_due=DUE, respondent=OPERATOR,
                                subject_area="GOODS_QUALITY", city_adcode="310000", received_at=AT,
                                rulebook="SAMR-121", decision_due_provisional=True, needs_placement=False,
                                consumer_count=1, represented=[]),
    "ComplaintRejected": _event(agency_id="AMR-310115", reason="OVER_ONE_YEAR",
                                explanation="您知道或者应当知道权益受到侵害已超过一年,不予受理。",
                                decided_at=AT, decision_due=DUE, rulebook="SAIC-62", decision_due_provisional=True,
                                grounds=[{"reason": "OVER_ONE_YEAR",
                                          "explanation": "您知道或者应当知道权益受到侵害已超过一年,不予受理。"},
                                         {"reason": "UNPROVABLE", "explanation": "您无法证实权益受到侵害,不予受理。"}]),
    "ComplaintReferred": _event(to_agency_id="CA-310000", subject_area="TELECOM", decided_at=AT,
                                from_agency_id="AMR-310115", rulebook="SAMR-20",
                                explanation="您反映的是电信服务方面的问题，已移送上海市通信管理局处理。"),
    "ComplaintTransferred": _event(from_agency_id="AMR-110108", to_agency_id="AMR-310115",
                                   reason="OPERATOR_LOCATION", decided_at=AT, rulebook="SAMR-20",
                                   explanation="您的投诉已移送上海市浦东新区市场监督管理局处理。"),
    "DecisionOverdue": _event(agency_id="AMR-310115", decision_due=DUE, rulebook="SAMR-121"),
    "ReferralIssued": _event(referral_id="R-1", from_agency_id="AMR-310115", to_agency_id="CA-310000",
                             subject_area="TELECOM", consumer=CONSUMER,
                             respondent={k: v for k, v in RESPONDENT.items() if k != "adcode_source"},
                             facts="宽带无法使用。", reply_due=DUE),
    "ReferralAcknowledged": _event(referral_id="R-1", agency_id="CA-310000", note=None),
    "ReferralAnswered": _event(referral_id="R-1", agency_id="CA-310000", answer="ACKNOWLEDGED", answered_at=AT,
                               reason=None),
    "ReferralDeclined": _event(referral_id="R-1", agency_id="CA-310000", reason="不属于本机关职责",
                               suggested_agency_id="NFRA-310000"),
    "MediationOpened": _event(agency_id="AMR-310115", accepted_at=AT, mediation_due=DUE, mediation_due_provisional=True),
    "ConsentRecorded": _event(party="RESPONDENT", agreed=True),
    "MediationScheduled": _event(session_at=DUE, place="浦东新区市场监管局调解室",
                                 mediators=["李明", "王芳"]),
    "MediatorRecused": _event(mediator="李明", reason="与被投诉人有利害关系"),
    "RecusalRequested": _event(mediator="李明", requested_by="CONSUMER", reason="调解员是被投诉人的亲属",
                               suspends=True),
    "RecusalRefused": _event(mediator="李明"),
    "TerminationNotified": _event(notified_at=AT, late=False),
    "TerminationNoticeOverdue": _event(notice_due=DUE),
    "AppraisalStarted": _event(body="上海市质量监督检验技术研究院", payer="SHARED", body_chosen_by="PARTIES_AGREED"),
    "AppraisalCompleted": _event(mediation_due=DUE, mediation_due_provisional=True),
    "MediationDueRecomputed": _event(mediation_due=DUE, mediation_due_provisional=False),
    "MediationAgreed": _event(form="WRITTEN", terms="商家退还货款2599元。", amount_recovered_fen=259900,
                               oral_consent=[], represented_consent=[], performed_at_once=False),
    "MediationTerminated": _event(reason="OTHER", text="被投诉人已注销", notice_due=DUE, represented_consent=[],
                                  before_opening=False),
    "ViolationFound": _event(respondent=OPERATOR, violation_type="FALSE_ADVERTISING",
                             evidence="商品页面宣称“国家级”", found_by="mediation",
                             agency_id="AMR-310115", place_adcode="310115", check_due=DUE),
    "PenaltyCaseOpened": _case(origin="COMPLAINT", complaint_ids=[CID], respondent=OPERATOR,
                               violation_type="FALSE_ADVERTISING", agency_id="AMR-310115", filing_due=DUE),
    "CaseFilingDeclined": _case(reason="违法事实不成立", reports_closed=[CID]),
    "PenaltyCaseComplaintLinked": _case(complaint_ids=[CID, "TS-20260303-0F0E0D0C0B0A"], filing_due=None,
                                        reported_again=True, not_handled_again=True),
    "InvestigationStarted": _case(conclusion_due=DUE),
    "PenaltyDecided": _case(fine_fen=5000000, basis="《中华人民共和国广告法》第五十七条"),
    "PenaltyCaseClosed": _case(outcome="PENALTY_EXECUTED", reports_closed=[CID]),
    "PenaltyCaseCheckExtended": _case(check_due=DUE, check_due_provisional=False, approved_by="张局长",
                                      reason="需调取平台交易记录"),
    "AuditRecord": {"event_id": "e-1", "occurred_at": AT, "complaint_id": CID, "service": "routing",
                    "seq": 7, "event_type": "Complaint.Accepted", "aggregate_id": "9b1c", "aggregate_version": 2,
                    "payload_sha256": "ab" * 32, "prev_hash": "0" * 64, "hash": "cd" * 32,
                    "actor_agency_id": "AMR-310115", "actor_role": "CASE_WORKER", "actor_person": "王芳"},
    "PublicComplaintUpdate": _event(respondent_name="上海某某电器有限公司", respondent_uscc="91310115MA1H7GQX2T",
                                    subject_area="GOODS_QUALITY", city_adcode="310000", status="ACCEPTED",
                                    outcome=None, received_on=date(2026, 3, 2), decided_on=date(2026, 3, 2)),
    "DeadLetter": _event(complaint_id=None, service="routing", topic="complaints.received", partition=0,
                         offset=42, error="unknown schema fingerprint", key=None, original=b"\x00garbage"),
}
