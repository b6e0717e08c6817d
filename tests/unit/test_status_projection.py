"""The status view names how each record type of its input topics moves it."""
from services.bus import topics as registry
from services.intake.projection import INPUTS, MOVES


def test_every_record_type_of_the_inputs_has_its_move():
    record_types = {record_type for name in INPUTS for record_type in registry.topic(name).record_types}
    assert set(MOVES) == record_types
