"""How durable each store's commits are on SQLite: an fsync a commit (FULL)
for the services, whose commits are published or acknowledged; NORMAL for the
read models, which a power cut can only set back to re-read from the broker."""
import pytest

from services.bus.settings import store_settings
from services.bus.topics import EVERYTHING, READ_MODELS
from services.system import spec

LEVELS = {1: "NORMAL", 2: "FULL"}


def synchronous(app) -> str:
    pool = app.recorder.datastore.pool
    connection = pool.get_connection(is_writer=True)
    try:
        return LEVELS[connection._sqlite_conn.execute("PRAGMA synchronous").fetchone()[0]]
    finally:
        pool.put_connection(connection)


def test_only_the_read_models_give_up_the_fsync_of_each_commit(tmp_path):
    settings = store_settings({"TOUSU_DATA_DIR": str(tmp_path)})
    levels = {}
    for name in EVERYTHING:
        app = spec(name).build(env=settings.for_service(name))
        try:
            levels[name] = synchronous(app)
        finally:
            app.close()
    assert levels == {name: "NORMAL" if name in READ_MODELS else "FULL" for name in EVERYTHING}


def test_a_level_sqlite_does_not_know_is_refused_by_name(tmp_path):
    env = {**store_settings({"TOUSU_DATA_DIR": str(tmp_path)}).for_service("desk"), "SQLITE_SYNCHRONOUS": "SOMETIMES"}
    with pytest.raises(ValueError, match="SQLITE_SYNCHRONOUS must be FULL or NORMAL"):
        spec("desk").build(env=env)
