"""Who may read and write what on a Kafka that has users: one SCRAM user per
service and per outside party, and the ACLs each needs, derived from the topic
registry and the services' inputs.

docker-compose.yml runs `deploy/kafka-access.sh`, which `tousu access script`
writes from this module; a test checks that the two agree, so a new topic or a
new input reaches the broker's ACLs or fails the build."""
from __future__ import annotations

from dataclasses import dataclass
from itertools import groupby

from .topics import READ_MODELS, REFERRAL_INBOX, REFERRAL_PREFIX, REGISTRY, SERVICES, referral_inbox

# The super user that creates topics, users and ACLs. It signs in with PLAIN on
# the broker's internal listener only; nobody else uses it.
ADMIN = "admin"
# Outside parties compose configures as examples; a deployment adds its own
# with `tousu access script --agency ID --regulator ID --subscriber NAME`.
EXAMPLE_AGENCIES = ("CA-310000", "EEB-310115")
EXAMPLE_REGULATORS = ("AMR-310000",)
EXAMPLE_SUBSCRIBERS = ("cca",)


@dataclass(frozen=True, order=True)
class Grant:
    """One ACL, in the words of kafka-acls.sh."""

    user: str
    operation: str  # Read, Write, Create
    resource: str  # topic, group
    name: str
    pattern: str = "literal"  # or prefixed
    permission: str = "allow"  # or deny, which wins over any allow


def group_id(service: str) -> str:
    """The consumer group each service's workers join (see runtime.ServiceRunner)."""
    return f"tousu-{service}"


def service_inputs() -> dict[str, tuple[str, ...]]:
    # Imported when asked: the spec modules pull in faust and the applications.
    from services.system import spec

    return {name: spec(name).inputs for name in SERVICES + READ_MODELS}


def service_grants(service: str, inputs: tuple[str, ...]) -> list[Grant]:
    grants = [Grant(service, "Read", "topic", name) for name in inputs]
    if inputs:
        grants.append(Grant(service, "Read", "group", group_id(service)))
    grants += [Grant(service, "Write", "topic", t.name) for t in REGISTRY if service in t.writers]
    # Where others write too, a relay reads back the message at its last offset
    # to tell whether the broker lost what it published (positions.fingerprints_at).
    grants += [Grant(service, "Read", "topic", t.name) for t in REGISTRY
               if service in t.writers and len(t.writers) > 1 and t.name not in inputs]
    if service in REFERRAL_INBOX.writers:
        # Inboxes appear as agencies are first referred to, so the writer creates
        # them; a prefix is the only way to name topics that do not exist yet.
        grants += [Grant(service, op, "topic", REFERRAL_PREFIX, "prefixed") for op in ("Create", "Write")]
        # The prefix also matches the agencies' reply topic, which only they write.
        grants += [Grant(service, "Write", "topic", t.name, permission="deny")
                   for t in REGISTRY if t.name.startswith(REFERRAL_PREFIX) and service not in t.writers]
    return grants


def agency_grants(agency_id: str) -> list[Grant]:
    """An agency reads its own inbox and the public stream and writes replies."""
    return [Grant(agency_id, "Read", "topic", referral_inbox(agency_id)),
            Grant(agency_id, "Read", "topic", "public.complaints"),
            Grant(agency_id, "Write", "topic", "referrals.replies"),
            # Its own consumer groups, named as it likes below its id.
            Grant(agency_id, "Read", "group", agency_id, "prefixed")]


def regulator_grants(agency_id: str) -> list[Grant]:
    return [Grant(agency_id, "Read", "topic", "audit.log"),
            Grant(agency_id, "Read", "topic", "public.complaints"),
            Grant(agency_id, "Read", "group", agency_id, "prefixed")]


def subscriber_grants(name: str) -> list[Grant]:
    """A consumer association: the public stream and nothing else."""
    return [Grant(name, "Read", "topic", "public.complaints"),
            Grant(name, "Read", "group", name, "prefixed")]


@dataclass(frozen=True)
class Plan:
    users: tuple[str, ...]
    grants: tuple[Grant, ...]


def plan(agencies=EXAMPLE_AGENCIES, regulators=EXAMPLE_REGULATORS, subscribers=EXAMPLE_SUBSCRIBERS,
         inputs: dict[str, tuple[str, ...]] | None = None) -> Plan:
    inputs = service_inputs() if inputs is None else inputs
    users = (*inputs, *agencies, *regulators, *subscribers)
    if len(set(users)) != len(users) or ADMIN in users:
        raise ValueError(f"user names must be distinct and not {ADMIN!r}: {', '.join(users)}")
    grants = [g for name, topics in inputs.items() for g in service_grants(name, topics)]
    grants += [g for a in agencies for g in agency_grants(a)]
    grants += [g for r in regulators for g in regulator_grants(r)]
    grants += [g for s in subscribers for g in subscriber_grants(s)]
    return Plan(users, tuple(grants))


def password_variable(user: str) -> str:
    """The environment variable holding a user's password: KAFKA_PASSWORD_CA_310000."""
    return "KAFKA_PASSWORD_" + "".join(c if c.isalnum() else "_" for c in user).upper()


_PREAMBLE = """\
#!/usr/bin/env bash
# Kafka users and ACLs of the tousu bus, written by `tousu access script` from the
# topic registry and the services' inputs. Do not edit: change the registry and
# write it again (tests/unit/test_compose.py fails while the two disagree).
#
# Runs in the apache/kafka image against the broker's internal listener as the
# PLAIN super user; every other user signs in with SCRAM-SHA-512. Running it
# again is harmless: it sets the same passwords and adds the same ACLs.
set -euo pipefail
BOOTSTRAP="${KAFKA_ADMIN_BOOTSTRAP:-kafka:9094}"
BIN="${KAFKA_BIN:-/opt/kafka/bin}"
ADMIN_CONFIG="$(mktemp)"
trap 'rm -f "$ADMIN_CONFIG"' EXIT
cat > "$ADMIN_CONFIG" <<EOF
security.protocol=SASL_PLAINTEXT
sasl.mechanism=PLAIN
sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="${KAFKA_ADMIN_PASSWORD:?KAFKA_ADMIN_PASSWORD is not set}";
EOF

# user NAME PASSWORD
user() {
  "$BIN/kafka-configs.sh" --bootstrap-server "$BOOTSTRAP" --command-config "$ADMIN_CONFIG" --alter \\
    --entity-type users --entity-name "$1" --add-config "SCRAM-SHA-512=[password=$2]" > /dev/null
  echo "user $1"
}

# acl allow|deny USER OPERATION RESOURCE PATTERN NAME...
acl() {
  local permission="$1" who="$2" operation="$3" resource="$4" pattern="$5" names=()
  shift 5
  for name in "$@"; do names+=("--$resource" "$name"); done
  "$BIN/kafka-acls.sh" --bootstrap-server "$BOOTSTRAP" --command-config "$ADMIN_CONFIG" --add \\
    "--$permission-principal" "User:$who" --operation "$operation" --resource-pattern-type "$pattern" \\
    "${names[@]}" > /dev/null
  echo "$permission $who $operation $resource $pattern $*"
}
allow() { acl allow "$@"; }
deny() { acl deny "$@"; }"""


def script(access: Plan) -> str:
    lines = [_PREAMBLE, ""]
    lines += [f'user {u} "${{{password_variable(u)}:?{password_variable(u)} is not set}}"' for u in access.users]
    lines.append("")
    # One kafka-acls.sh run per user, operation, resource and pattern: each run
    # starts a JVM, so fewer runs make a faster start.
    order = {u: i for i, u in enumerate(access.users)}
    key = lambda g: (order[g.user], g.user, g.permission, g.operation, g.resource, g.pattern)  # noqa: E731
    for (_, user, permission, operation, resource, pattern), grants in groupby(sorted(access.grants, key=key), key=key):
        names = " ".join(sorted({g.name for g in grants}))
        lines.append(f"{permission} {user} {operation} {resource} {pattern} {names}")
    return "\n".join(lines) + "\n"


def parse_script(text: str) -> Plan:
    """The users and grants a written script sets up, read back from its lines."""
    users, grants = [], []
    for line in text.splitlines():
        words = line.split()
        if words[:1] == ["user"]:
            users.append(words[1])
        elif words[:1] in (["allow"], ["deny"]) and len(words) >= 6:
            permission, user, operation, resource, pattern, *names = words
            grants += [Grant(user, operation, resource, name, pattern, permission) for name in names]
    return Plan(tuple(users), tuple(grants))


def table(access: Plan) -> str:
    """What each user may do, a line per user, for a person to review."""
    out = []
    for user in access.users:
        mine = [g for g in access.grants if g.user == user]
        parts = [f"{'not ' if g.permission == 'deny' else ''}{g.operation.lower()} {g.resource} "
                 f"{g.name}{'*' if g.pattern == 'prefixed' else ''}"
                 for g in sorted(mine, key=lambda g: (g.resource != "topic", g.permission, g.operation, g.name))]
        out.append(f"{user}: " + "; ".join(parts))
    return "\n".join(out)
