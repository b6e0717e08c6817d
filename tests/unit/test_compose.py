"""docker-compose.yml cannot run here (no Docker engine): check it against the
registry and the services' settings instead."""
from pathlib import Path

import pytest
import yaml

from services.bus.topics import READ_MODELS, SERVICES

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_every_service_runs_as_its_own_worker(compose):
    for name in SERVICES + READ_MODELS:
        assert compose["services"][name]["command"][:2] == ["worker", name]


def test_kafka_is_apache_kafka_in_kraft_mode_without_auto_created_topics(compose):
    kafka = compose["services"]["kafka"]
    assert kafka["image"].startswith("apache/kafka:")
    assert kafka["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert kafka["environment"]["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"


def test_services_reach_the_broker_kafka_advertises(compose):
    advertised = compose["services"]["kafka"]["environment"]["KAFKA_ADVERTISED_LISTENERS"]
    address = advertised.split("://", 1)[1]
    for name in (*SERVICES, "topics"):
        assert compose["services"][name]["environment"]["KAFKA_BOOTSTRAP_SERVERS"] == address


def test_services_use_the_postgres_service_with_its_credentials(compose):
    pg = compose["services"]["postgres"]["environment"]
    for name in SERVICES:
        env = compose["services"][name]["environment"]
        assert env["PERSISTENCE_MODULE"] == "eventsourcing.postgres"
        assert env["POSTGRES_HOST"] == "postgres"
        assert env["POSTGRES_DBNAME"] == pg["POSTGRES_DB"]
        assert env["POSTGRES_USER"] == pg["POSTGRES_USER"]
        assert env["POSTGRES_PASSWORD"] == pg["POSTGRES_PASSWORD"]


def test_topics_are_created_from_the_registry_before_services_start(compose):
    assert compose["services"]["topics"]["command"] == ["topics"]
    for name in SERVICES:
        assert compose["services"][name]["depends_on"]["topics"]["condition"] == "service_completed_successfully"


def test_every_service_is_built_from_the_one_dockerfile(compose):
    assert (ROOT / "Dockerfile").is_file()
    for name in (*SERVICES, "topics"):
        assert compose["services"][name]["build"] == "."


def test_http_ports_do_not_collide(compose):
    published = [p.split(":")[0] for s in compose["services"].values() for p in s.get("ports", [])]
    assert len(published) == len(set(published))
