from services.bus import topics


def test_contract_topics_are_all_registered():
    names = {t.name for t in topics.REGISTRY}
    assert names == {"complaints.received", "complaints.decisions", "referrals.replies",
                     "mediation.events", "violations.found", "enforcement.cases", "audit.log",
                     "public.complaints", "deadletter"}


def test_routing_alone_writes_decisions_and_referral_inboxes():
    assert topics.topic("complaints.decisions").writers == ("routing",)
    assert topics.topic("referrals.CA-310000").writers == ("routing",)
    assert topics.topic("referrals.CA-310000").record_types == ("ReferralIssued",)


def test_replies_topic_is_not_mistaken_for_an_inbox():
    assert topics.topic("referrals.replies").record_types == ("ReferralAcknowledged", "ReferralDeclined")


def test_unknown_topic_is_refused():
    import pytest
    with pytest.raises(topics.UnknownTopic):
        topics.topic("complaints.everything")


def test_audit_chain_topic_keeps_one_partition():
    assert topics.topic("audit.log").partitions == 1
    assert topics.topic("audit.log").key == "service"


def test_kafka_security_comes_from_the_environment_only():
    from services.bus.settings import kafka_security
    assert kafka_security({}) == {}
    assert kafka_security({"KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT", "KAFKA_SASL_USERNAME": "routing",
                           "KAFKA_SASL_PASSWORD": "s3cret"}) == {
        "security_protocol": "SASL_PLAINTEXT", "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "routing", "sasl_plain_password": "s3cret"}
