"""While the broker is away, one line per kind of client complaint per window,
with the count of those held back; the project's own lines always pass."""
import logging

from services.bus.calm import Calm


def record(name, msg, *args, level=logging.ERROR):
    return logging.LogRecord(name, level, __file__, 1, msg, args, None)


def test_repeated_client_errors_pass_once_per_window_with_a_count():
    now = [0.0]
    calm = Calm(60, clock=lambda: now[0])
    passed = [calm.filter(record("aiokafka", "Unable connect to node with id %s: %s", 111, "refused"))
              for _ in range(500)]
    assert passed.count(True) == 1
    assert calm.filter(record("aiokafka.consumer.fetcher", "Failed fetch messages from %s: %s", 111, "x"))
    now[0] = 61
    again = record("aiokafka", "Unable connect to node with id %s: %s", 111, "refused")
    assert calm.filter(again) and "499 more like it" in again.getMessage()


def test_the_services_own_lines_are_never_held_back():
    calm = Calm(60, clock=lambda: 0.0)
    assert all(calm.filter(record("services.bus.relay", "relay %s: cannot publish", "intake")) for _ in range(10))
