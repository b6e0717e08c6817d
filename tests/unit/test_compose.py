"""docker-compose.yml cannot run here (no Docker engine, and the embedded broker
has no users or ACLs): check it against the registry, the services' inputs and
the contract's "Who may do what" instead."""
import os
import re
import stat
import subprocess
from pathlib import Path

import pytest
import yaml

from services.bus import access
from services.bus.topics import READ_MODELS, REGISTRY, SERVICES
from services.system import spec

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "deploy" / "kafka-access.sh"
WORKERS = SERVICES + READ_MODELS
# Topics that carry personal data or internal decisions: only services read them.
INTERNAL = {"complaints.received", "complaints.decisions", "mediation.events", "violations.found",
            "enforcement.cases", "referrals.replies", "deadletter"}


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def written():
    """What the script compose runs sets up, read back from its lines."""
    return access.parse_script(SCRIPT.read_text())


def grants_of(plan: access.Plan, user: str, operation: str, resource: str = "topic",
              pattern: str = "literal", permission: str = "allow") -> set[str]:
    return {g.name for g in plan.grants if (g.user, g.operation, g.resource, g.pattern, g.permission)
            == (user, operation, resource, pattern, permission)}


def test_every_service_runs_as_its_own_worker(compose):
    for name in WORKERS:
        assert compose["services"][name]["command"][:2] == ["worker", name]


def test_kafka_is_apache_kafka_in_kraft_mode_without_auto_created_topics(compose):
    kafka = compose["services"]["kafka"]
    assert kafka["image"].startswith("apache/kafka:")
    assert kafka["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert kafka["environment"]["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"


def test_kafka_keeps_its_log_on_its_volume(compose):
    kafka = compose["services"]["kafka"]
    mounted = {v.split(":")[1]: v.split(":")[0] for v in kafka["volumes"]}
    assert mounted[kafka["environment"]["KAFKA_LOG_DIRS"]] in compose["volumes"]


def test_every_kafka_listener_asks_who_is_connecting_and_acls_decide(compose):
    env = compose["services"]["kafka"]["environment"]
    protocols = dict(item.split(":") for item in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(","))
    listeners = [item.split("://")[0] for item in env["KAFKA_LISTENERS"].split(",")]
    assert set(listeners) == set(protocols)
    assert all(p.startswith("SASL_") for p in protocols.values()), protocols
    assert env["KAFKA_AUTHORIZER_CLASS_NAME"] == "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
    assert env["KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND"] == "false"
    assert env["KAFKA_SUPER_USERS"] == f"User:{access.ADMIN}"
    # Services and outsiders sign in with SCRAM; PLAIN (the admin) only inside.
    assert env["KAFKA_LISTENER_NAME_CLIENT_SASL_ENABLED_MECHANISMS"] == "SCRAM-SHA-512"
    assert env["KAFKA_LISTENER_NAME_EXTERNAL_SASL_ENABLED_MECHANISMS"] == "SCRAM-SHA-512"
    for listener in listeners:
        mechanism = env[f"KAFKA_LISTENER_NAME_{listener}_SASL_ENABLED_MECHANISMS"]
        module = "ScramLoginModule" if mechanism == "SCRAM-SHA-512" else "PlainLoginModule"
        jaas = env[f"KAFKA_LISTENER_NAME_{listener}_{mechanism.replace('-', '___')}_SASL_JAAS_CONFIG"]
        assert module in jaas and jaas.rstrip().endswith(";"), listener


def advertised(compose) -> dict[str, str]:
    env = compose["services"]["kafka"]["environment"]
    return dict(item.split("://") for item in env["KAFKA_ADVERTISED_LISTENERS"].split(","))


def test_services_sign_in_as_their_own_scram_user_with_the_password_kafka_access_sets(compose):
    setter = compose["services"]["kafka-access"]["environment"]
    for name in WORKERS:
        env = compose["services"][name]["environment"]
        assert env["KAFKA_BOOTSTRAP_SERVERS"] == advertised(compose)["CLIENT"]
        assert env["KAFKA_SECURITY_PROTOCOL"] == "SASL_PLAINTEXT"
        assert env["KAFKA_SASL_MECHANISM"] == "SCRAM-SHA-512"
        assert env["KAFKA_SASL_USERNAME"] == name
        assert env["KAFKA_SASL_PASSWORD"] == setter[access.password_variable(name)]


def test_topics_are_created_as_admin_over_the_internal_listener_before_services_start(compose):
    topics = compose["services"]["topics"]
    assert topics["command"] == ["topics"]
    assert topics["environment"]["KAFKA_BOOTSTRAP_SERVERS"] == advertised(compose)["BROKER"]
    assert topics["environment"]["KAFKA_SASL_MECHANISM"] == "PLAIN"
    assert topics["environment"]["KAFKA_SASL_USERNAME"] == access.ADMIN
    assert topics["environment"]["KAFKA_SASL_PASSWORD"] == \
        compose["services"]["kafka-access"]["environment"]["KAFKA_ADMIN_PASSWORD"]
    assert compose["services"]["kafka"]["environment"]["ADMIN_PASSWORD"] == \
        topics["environment"]["KAFKA_SASL_PASSWORD"]
    for name in WORKERS:
        for before in ("topics", "kafka-access"):
            assert compose["services"][name]["depends_on"][before]["condition"] == "service_completed_successfully"


def test_kafka_access_runs_the_script_with_a_password_for_every_user_it_creates(compose, written):
    setter = compose["services"]["kafka-access"]
    assert setter["image"] == compose["services"]["kafka"]["image"]
    mounted = {v.split(":")[0]: v.split(":")[1] for v in setter["volumes"]}
    assert mounted["./deploy/kafka-access.sh"] in setter["entrypoint"]
    assert set(written.users) == {*WORKERS, *access.EXAMPLE_AGENCIES, *access.EXAMPLE_REGULATORS,
                                  *access.EXAMPLE_SUBSCRIBERS}
    for user in written.users:
        assert setter["environment"][access.password_variable(user)], user
    passwords = [setter["environment"][access.password_variable(u)] for u in written.users]
    assert len(set(passwords)) == len(passwords), "two users share a password"


def test_the_script_is_what_the_registry_says_today(written):
    assert SCRIPT.read_text() == access.script(access.plan()), \
        "deploy/kafka-access.sh is stale: run `tousu access script > deploy/kafka-access.sh`"
    assert os.access(SCRIPT, os.X_OK)


def test_each_service_reads_its_inputs_and_writes_what_the_registry_says_it_writes(written):
    for name in WORKERS:
        inputs = set(spec(name).inputs)
        # And what it writes beside others: its relay reads its last message back there to see
        # whether the broker lost it (without Read, Kafka refuses the fetch and no loss is ever seen).
        shared = {t.name for t in REGISTRY if name in t.writers and len(t.writers) > 1}
        assert grants_of(written, name, "Read") == inputs | shared, name
        assert grants_of(written, name, "Write") == {t.name for t in REGISTRY if name in t.writers}, name
        assert grants_of(written, name, "Read", "group") == {f"tousu-{name}"}, name
    # Referral inboxes appear as agencies are first referred to: routing creates
    # and writes them by prefix, and is denied the agencies' own reply topic.
    assert grants_of(written, "routing", "Create", pattern="prefixed") == {"referrals."}
    assert grants_of(written, "routing", "Write", pattern="prefixed") == {"referrals."}
    assert grants_of(written, "routing", "Write", permission="deny") == {"referrals.replies"}
    prefixed = {g for g in written.grants if g.pattern == "prefixed" and g.resource == "topic"}
    assert {g.user for g in prefixed} == {"routing"}


def test_an_agency_reads_only_its_inbox_and_the_public_stream_and_writes_only_replies(written):
    for agency in access.EXAMPLE_AGENCIES:
        topics = {(g.operation, g.name) for g in written.grants if g.user == agency and g.resource == "topic"}
        assert topics == {("Read", f"referrals.{agency}"), ("Read", "public.complaints"),
                          ("Write", "referrals.replies")}
        groups = {(g.name, g.pattern) for g in written.grants if g.user == agency and g.resource == "group"}
        assert groups == {(agency, "prefixed")}


def test_regulators_read_the_audit_stream_and_subscribers_only_the_public_one(written):
    for regulator in access.EXAMPLE_REGULATORS:
        assert grants_of(written, regulator, "Read") == {"audit.log", "public.complaints"}
        assert not grants_of(written, regulator, "Write")
    for subscriber in access.EXAMPLE_SUBSCRIBERS:
        assert {(g.operation, g.name) for g in written.grants if g.user == subscriber and g.resource == "topic"} \
            == {("Read", "public.complaints")}
    # Of the outside parties (the services read back what they wrote there), only regulators.
    assert {g.user for g in written.grants if g.name == "audit.log" and g.operation == "Read"} - set(WORKERS) \
        == set(access.EXAMPLE_REGULATORS)


def test_no_outside_party_can_read_personal_data_or_another_agencys_inbox(written):
    outsiders = set(written.users) - set(WORKERS)
    for g in written.grants:
        if g.user not in outsiders or g.resource != "topic":
            continue
        assert g.name not in INTERNAL or g.operation == "Write", g
        if g.name.startswith("referrals.") and g.name != "referrals.replies":
            assert g.name == f"referrals.{g.user}", g
    assert not [g for g in written.grants if g.name in ("*", "") or g.resource not in ("topic", "group")]


def fake_kafka_tools(tmp_path: Path) -> Path:
    """kafka-configs.sh and kafka-acls.sh that record their arguments, one call a line."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("kafka-configs.sh", "kafka-acls.sh"):
        path = bin_dir / tool
        path.write_text(f'#!/usr/bin/env bash\nprintf "{tool}" >> "$CALLS"\n'
                        'printf " %q" "$@" >> "$CALLS"\necho >> "$CALLS"\n')
        path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return bin_dir


def run_script(tmp_path: Path, env: dict) -> subprocess.CompletedProcess:
    calls = tmp_path / "calls"
    calls.touch()
    return subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, timeout=30,
                          env={"PATH": os.environ["PATH"], "KAFKA_BIN": str(fake_kafka_tools(tmp_path)),
                               "CALLS": str(calls), **env})


def test_the_script_gives_the_kafka_tools_every_user_and_acl(tmp_path, compose, written):
    env = {k: v for k, v in compose["services"]["kafka-access"]["environment"].items()}
    # What an operator's .env gives: a value of its own for every required variable.
    env = {k: re.sub(r"\$\{([A-Z0-9_]+):\?[^}]*\}", lambda m: m.group(1).lower() + "-value", v) for k, v in env.items()}
    done = run_script(tmp_path, env)
    assert done.returncode == 0, done.stderr
    calls = (tmp_path / "calls").read_text().splitlines()
    users = [c for c in calls if c.startswith("kafka-configs.sh")]
    assert len(users) == len(written.users)
    intake = next(c for c in users if "--entity-name intake" in c)
    assert "--bootstrap-server kafka:9094" in intake
    assert f"SCRAM-SHA-512=\\[password={env['KAFKA_PASSWORD_INTAKE']}\\]" in intake
    acls = [c for c in calls if c.startswith("kafka-acls.sh")]
    for g in written.grants:
        flags = (f"--{g.permission}-principal User:{g.user} --operation {g.operation} "
                 f"--resource-pattern-type {g.pattern}")
        assert any(flags in c and f"--{g.resource} {g.name}" in c for c in acls), g
    assert all("--add" in c and "--command-config" in c for c in acls)


def test_the_script_stops_naming_a_missing_password(tmp_path, compose):
    env = {k: "x" for k in compose["services"]["kafka-access"]["environment"]}
    del env["KAFKA_PASSWORD_ROUTING"]
    done = run_script(tmp_path, env)
    assert done.returncode != 0
    assert "KAFKA_PASSWORD_ROUTING is not set" in done.stderr


def test_services_use_the_postgres_service_with_its_credentials(compose):
    pg = compose["services"]["postgres"]["environment"]
    for name in WORKERS:
        env = compose["services"][name]["environment"]
        assert env["PERSISTENCE_MODULE"] == "eventsourcing.postgres"
        assert env["POSTGRES_HOST"] == "postgres"
        assert env["POSTGRES_DBNAME"] == pg["POSTGRES_DB"]
        assert env["POSTGRES_USER"] == pg["POSTGRES_USER"]
        assert env["POSTGRES_PASSWORD"] == pg["POSTGRES_PASSWORD"]


def test_every_service_checks_tokens_with_the_one_signing_key(compose):
    keys = {compose["services"][name]["environment"]["TOUSU_SIGNING_KEY"] for name in WORKERS}
    assert len(keys) == 1


def test_every_service_is_built_from_the_one_dockerfile(compose):
    assert (ROOT / "Dockerfile").is_file()
    for name in (*WORKERS, "topics"):
        assert compose["services"][name]["build"] == "."


def test_published_ports_do_not_collide(compose):
    published = [p.split(":")[0] for s in compose["services"].values() for p in s.get("ports", [])]
    assert len(published) == len(set(published))


def test_tousu_access_adds_agencies_and_refuses_unknown_ones(capsys):
    from services.cli import main

    assert main(["access", "script", "--agency", "EEB-330106", "--agency", "HC-330106"]) == 0
    plan = access.parse_script(capsys.readouterr().out)
    assert {"EEB-330106", "HC-330106"} <= set(plan.users) and "CA-310000" not in plan.users
    assert grants_of(plan, "HC-330106", "Read") == {"referrals.HC-330106", "public.complaints"}

    assert main(["access", "script", "--agency", "EEB-999999"]) == 2
    assert "--agency: unknown agency EEB-999999" in capsys.readouterr().err
    assert main(["access", "list", "--subscriber", "Bad Name"]) == 2
    assert "--subscriber: Bad Name" in capsys.readouterr().err


def test_tousu_access_list_shows_each_user_on_a_line(capsys):
    from services.cli import main

    assert main(["access", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines] == list(access.plan().users)
    assert "read topic referrals.CA-310000" in next(line for line in lines if line.startswith("CA-310000:"))


# --- Operating it: restarts, health checks, secrets, one address, metrics ---

LONG_RUNNING = (*WORKERS, "kafka", "postgres", "proxy", "prometheus", "grafana")
ONE_SHOT = ("topics", "kafka-access")
WORKER_PORTS = {"intake": 8315, "mediation": 8316, "enforcement": 8317, "routing": 8318, "statistics": 8319,
                "desk": 8320}


def command_port(service: dict) -> int:
    return int(service["command"][service["command"].index("--port") + 1])


def test_everything_restarts_and_long_running_services_have_health_checks(compose):
    assert set(compose["services"]) == {*LONG_RUNNING, *ONE_SHOT}
    for name in LONG_RUNNING:
        assert compose["services"][name]["restart"] == "unless-stopped", name
        assert compose["services"][name]["healthcheck"]["test"], name
    for name in ONE_SHOT:
        # Restarted until they succeed: the services wait for their success.
        assert compose["services"][name]["restart"] == "on-failure", name
    assert compose["services"]["topics"]["healthcheck"] == {"disable": True}, "no /readyz in a one-shot job"


def test_each_worker_is_healthy_when_its_own_readyz_answers(compose):
    for name in WORKERS:
        service = compose["services"][name]
        port = command_port(service)
        assert port == WORKER_PORTS[name]
        assert f"http://127.0.0.1:{port}/readyz" in " ".join(service["healthcheck"]["test"]), name


def test_secrets_have_no_working_defaults(compose):
    text = (ROOT / "docker-compose.yml").read_text()
    defaults = re.findall(r"\$\{([A-Z0-9_]+):-", text)
    assert defaults == ["KAFKA_EXTERNAL_HOST"], "a secret with a default works silently when .env is forgotten"
    required = set(re.findall(r"\$\{([A-Z0-9_]+):\?", text))
    assert {"TOUSU_SIGNING_KEY", "POSTGRES_PASSWORD", "KAFKA_ADMIN_PASSWORD", "GRAFANA_ADMIN_PASSWORD"} <= required
    assert {access.password_variable(u) for u in access.parse_script(SCRIPT.read_text()).users} <= required
    listed = {line.split("=")[0] for line in (ROOT / "deploy" / "env.example").read_text().splitlines()
              if line and not line.startswith("#")}
    assert required <= listed, required - listed


LOCATION = re.compile(r"location\s+(~|=)?\s*(\S+)\s*\{\s*"
                      r"(?:if \(\$request_method = (\w+)\) \{\s*proxy_pass\s+http://([\w-]+:\d+);\s*\}\s*)?"
                      r"proxy_pass\s+http://([\w-]+:\d+);")


def nginx_locations() -> list[tuple[str, str, dict]]:
    """(modifier, pattern, upstream by method, None for any other) in the file's order."""
    text = (ROOT / "deploy" / "nginx.conf").read_text()
    # Upstreams are named once, in variables, so that nginx resolves them as it goes.
    upstreams = dict(re.findall(r"set \$(\w+) (http://[\w-]+:\d+);", text))
    text = re.sub(r"proxy_pass \$(\w+);", lambda m: f"proxy_pass {upstreams[m.group(1)]};", text)
    return [(modifier, pattern, {method: upstream, None: default} if method else {None: default})
            for modifier, pattern, method, upstream, default in LOCATION.findall(text)]


def proxied_to(path: str, method: str = "GET") -> str:
    """nginx's choice: an exact match, else the first matching regex, else the longest prefix."""
    locations = nginx_locations()
    chosen = next((u for m, p, u in locations if m == "=" and path == p), None) \
        or next((u for m, p, u in locations if m == "~" and re.search(p, path)), None) \
        or max(((p, u) for m, p, u in locations if not m and path.startswith(p)), key=lambda pu: len(pu[0]))[1]
    return chosen.get(method, chosen[None])


def service_routes(name: str) -> list[tuple[str, str]]:
    import importlib
    from unittest.mock import MagicMock

    router = importlib.import_module(f"services.{name}.api").router(MagicMock())
    return [(method, re.sub(r"\{[^}]+\}", "X-1", route.path)) for route in router.routes
            for method in route.methods]


def test_one_address_reaches_every_route_of_every_service_through_the_proxy(compose):
    from services.cli import DEFAULT_PORT

    proxy = compose["services"]["proxy"]
    assert proxy["ports"] == [f"{DEFAULT_PORT}:8315"], "the README's examples use this one address"
    assert "./deploy/nginx.conf:/etc/nginx/nginx.conf:ro" in proxy["volumes"]
    served_by: dict[tuple[str, str], str] = {}
    for name in WORKERS:
        assert proxy["depends_on"][name]["condition"] == "service_healthy"
        assert "ports" not in compose["services"][name], f"{name} is reached through the proxy"
        for method, path in service_routes(name):
            served_by[(method, path)] = f"{name}:{WORKER_PORTS[name]}"
    # The desk's pages are outside any OpenAPI document; their files come with them.
    for page in ("/console/login", "/console/static/console.css", "/public/form", "/public/status/X-1"):
        served_by[("GET", page)] = "desk:8320"
    for (method, path), service in served_by.items():
        assert proxied_to(path, method) == service, (method, path, service)


def test_no_route_is_served_by_two_services():
    # tousu up and the proxy each pick one service per route; a route declared
    # twice would go to whichever answered first.
    import importlib
    from unittest.mock import MagicMock

    owners: dict[tuple[str, str], list[str]] = {}
    for name in WORKERS:
        for route in importlib.import_module(f"services.{name}.api").router(MagicMock()).routes:
            for method in getattr(route, "methods", None) or ():
                owners.setdefault((method, route.path), []).append(name)
    assert {route: names for route, names in owners.items() if len(names) > 1} == {}


def test_prometheus_scrapes_every_worker_and_the_dashboard_plots_metrics_that_exist(compose):
    import json

    config = yaml.safe_load((ROOT / "deploy" / "prometheus.yml").read_text())
    # By name through Docker's DNS, so every worker of a scaled service is scraped.
    targets = {f"{name}:{sd['port']}" for job in config["scrape_configs"] for sd in job["dns_sd_configs"]
               for name in sd["names"]}
    assert targets == {f"{name}:{WORKER_PORTS[name]}" for name in WORKERS}
    assert all(sd["type"] == "A" for job in config["scrape_configs"] for sd in job["dns_sd_configs"])
    assert "./deploy/prometheus.yml:/etc/prometheus/prometheus.yml:ro" in compose["services"]["prometheus"]["volumes"]
    dashboard = json.loads((ROOT / "deploy" / "grafana" / "tousu.json").read_text())
    source = "".join((ROOT / "services" / name).read_text() for name in ("metrics.py", "observability.py"))
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            for metric in re.findall(r"tousu_[a-z_]+", target["expr"]):
                base = re.sub(r"_(total|bucket|count|sum)$", "", metric)
                assert f'"{base}"' in source, (panel["title"], metric)


def test_nothing_on_the_bus_expires_audit_log_above_all(compose):
    env = compose["services"]["kafka"]["environment"]
    assert env["KAFKA_LOG_RETENTION_MS"] == "-1"
    audit = next(t for t in REGISTRY if t.name == "audit.log")
    assert getattr(audit, "retention_ms", None) in (None, -1), "audit.log is kept forever"


def test_the_image_runs_a_regular_install_as_a_user_without_rights_to_its_code():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "pip install -e" not in dockerfile and "--editable" not in dockerfile
    users = re.findall(r"^USER\s+(\S+)", dockerfile, re.M)
    assert users and users[-1] not in ("root", "0")
    # Everything is left out but what the build needs: no data folder, key or .env.
    rules = [line for line in (ROOT / ".dockerignore").read_text().splitlines() if line and not line.startswith("#")]
    assert rules[0] == "*"
    assert {r[1:].rstrip("/") for r in rules if r.startswith("!")} == {
        "pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "schemas", "services"}
    assert "**/signing.key" in rules


def test_the_asyncapi_document_names_the_listener_outside_parties_use(compose):
    from services.asyncapi import document

    outside = advertised(compose)["EXTERNAL"]  # ${KAFKA_EXTERNAL_HOST:-localhost}:19092
    port = outside.rsplit(":", 1)[1]
    assert f"{port}:{port}" in compose["services"]["kafka"]["ports"]
    servers = document()["servers"]
    assert servers["external"]["host"] == f"localhost:{port}"
    assert servers["production"]["host"] == compose["services"]["intake"]["environment"]["KAFKA_BOOTSTRAP_SERVERS"]


def test_the_proxy_finds_workers_as_they_come_and_go():
    # A name in proxy_pass is resolved once, when nginx starts: workers added by
    # `--scale` later would get nothing. Through variables and Docker's DNS they do.
    text = (ROOT / "deploy" / "nginx.conf").read_text()
    assert re.search(r"^\s*resolver 127\.0\.0\.11 valid=\d+s", text, re.M)
    assert not re.findall(r"proxy_pass\s+http://", text)
