"""How long a consumer's fetch waits at the broker: short while messages flow,
long after a quiet spell (services.bus.runtime.FetchPace), set from the environment."""
import pytest

from services.bus.runtime import FetchPace
from services.bus.settings import bus_settings
from services.bus.topics import EVERYTHING


def test_the_wait_is_short_while_messages_flow_longer_after_a_pause_and_long_once_idle():
    pace = FetchPace(10, (250, 2.0), (1000, 30.0))
    assert pace.wait_ms(False, now=100.0) == 1000, "nothing came yet: an idle consumer"
    assert pace.wait_ms(True, now=100.0) == 10
    assert pace.wait_ms(False, now=101.9) == 10, "a fetch that came back empty within the spell"
    assert pace.wait_ms(True, now=103.0) == 10
    assert pace.wait_ms(False, now=104.9) == 10
    assert pace.wait_ms(False, now=105.0) == 250, "a pause: complaints a few seconds apart"
    assert pace.wait_ms(False, now=132.9) == 250
    assert pace.wait_ms(False, now=133.0) == 1000, "idle"
    assert pace.wait_ms(True, now=200.0) == 10, "the first message after the quiet wakes it"


def test_the_waits_come_from_the_environment_and_nonsense_is_refused_by_name():
    settings = bus_settings("127.0.0.1:9092", env={"TOUSU_FETCH_MAX_WAIT_MS": "25", "TOUSU_FETCH_IDLE_WAIT_MS": "3000",
                                                   "TOUSU_UNHURRIED_FETCH_MAX_WAIT_MS": "250",
                                                   "TOUSU_FETCH_QUIET_WAIT_MS": "400"})
    assert (settings.fetch_max_wait_ms, settings.unhurried_fetch_max_wait_ms, settings.fetch_quiet_wait_ms,
            settings.fetch_idle_wait_ms) == (25, 250, 400, 3000)
    default = bus_settings("127.0.0.1:9092", env={})
    assert default.fetch_max_wait_ms < default.unhurried_fetch_max_wait_ms < default.fetch_quiet_wait_ms \
        < default.fetch_idle_wait_ms
    assert default.fetch_quiet_after_s < default.fetch_idle_after_s
    with pytest.raises(RuntimeError, match="TOUSU_FETCH_IDLE_WAIT_MS must be a whole number"):
        bus_settings("127.0.0.1:9092", env={"TOUSU_FETCH_IDLE_WAIT_MS": "1s"})


def test_only_the_services_a_complainant_waits_for_fetch_with_the_short_wait():
    settings = bus_settings("127.0.0.1:9092", env={"TOUSU_FETCH_MAX_WAIT_MS": "10",
                                                   "TOUSU_UNHURRIED_FETCH_MAX_WAIT_MS": "100"})
    waits = {service: settings.active_fetch_wait_ms(service) for service in EVERYTHING}
    # Routing decides and mediation opens the case; intake's status pages,
    # enforcement's cases and the read models are read by people afterwards.
    assert waits == {"intake": 100, "routing": 10, "mediation": 10, "enforcement": 100, "statistics": 100,
                     "desk": 100}


def test_the_former_read_model_wait_is_named_as_no_longer_read(caplog):
    settings = bus_settings("127.0.0.1:9092", env={"TOUSU_READ_MODEL_FETCH_MAX_WAIT_MS": "250"})
    assert settings.unhurried_fetch_max_wait_ms == 100
    assert "TOUSU_UNHURRIED_FETCH_MAX_WAIT_MS" in caplog.text
