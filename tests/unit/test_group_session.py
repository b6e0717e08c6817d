"""The consumer group session a service asks the broker for."""
import pytest

from services.bus.settings import bus_settings


def test_the_default_session_is_one_apache_kafka_accepts():
    # Kafka refuses a JoinGroup whose session is under group.min.session.timeout.ms, 6 s by default.
    assert bus_settings("kafka:9092", env={}).session_timeout_s >= 6


def test_the_session_comes_from_the_environment_and_nonsense_is_refused_by_name():
    assert bus_settings("127.0.0.1:9092", env={"TOUSU_SESSION_TIMEOUT_S": "4"}).session_timeout_s == 4.0
    assert bus_settings("127.0.0.1:9092", env={"TOUSU_SESSION_TIMEOUT_S": "12.5"}).session_timeout_s == 12.5
    for nonsense in ("4s", "-4", "1", "1000"):
        with pytest.raises(RuntimeError, match="TOUSU_SESSION_TIMEOUT_S must be a number of seconds"):
            bus_settings("127.0.0.1:9092", env={"TOUSU_SESSION_TIMEOUT_S": nonsense})
