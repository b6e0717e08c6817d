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
  "$BIN/kafka-configs.sh" --bootstrap-server "$BOOTSTRAP" --command-config "$ADMIN_CONFIG" --alter \
    --entity-type users --entity-name "$1" --add-config "SCRAM-SHA-512=[password=$2]" > /dev/null
  echo "user $1"
}

# acl allow|deny USER OPERATION RESOURCE PATTERN NAME...
acl() {
  local permission="$1" who="$2" operation="$3" resource="$4" pattern="$5" names=()
  shift 5
  for name in "$@"; do names+=("--$resource" "$name"); done
  "$BIN/kafka-acls.sh" --bootstrap-server "$BOOTSTRAP" --command-config "$ADMIN_CONFIG" --add \
    "--$permission-principal" "User:$who" --operation "$operation" --resource-pattern-type "$pattern" \
    "${names[@]}" > /dev/null
  echo "$permission $who $operation $resource $pattern $*"
}
allow() { acl allow "$@"; }
deny() { acl deny "$@"; }

user intake "${KAFKA_PASSWORD_INTAKE:?KAFKA_PASSWORD_INTAKE is not set}"
user routing "${KAFKA_PASSWORD_ROUTING:?KAFKA_PASSWORD_ROUTING is not set}"
user mediation "${KAFKA_PASSWORD_MEDIATION:?KAFKA_PASSWORD_MEDIATION is not set}"
user enforcement "${KAFKA_PASSWORD_ENFORCEMENT:?KAFKA_PASSWORD_ENFORCEMENT is not set}"
user statistics "${KAFKA_PASSWORD_STATISTICS:?KAFKA_PASSWORD_STATISTICS is not set}"
user desk "${KAFKA_PASSWORD_DESK:?KAFKA_PASSWORD_DESK is not set}"
user CA-310000 "${KAFKA_PASSWORD_CA_310000:?KAFKA_PASSWORD_CA_310000 is not set}"
user EEB-310115 "${KAFKA_PASSWORD_EEB_310115:?KAFKA_PASSWORD_EEB_310115 is not set}"
user AMR-310000 "${KAFKA_PASSWORD_AMR_310000:?KAFKA_PASSWORD_AMR_310000 is not set}"
user cca "${KAFKA_PASSWORD_CCA:?KAFKA_PASSWORD_CCA is not set}"

allow intake Read group literal tousu-intake
allow intake Read topic literal audit.log complaints.decisions deadletter enforcement.cases mediation.events
allow intake Write topic literal audit.log complaints.received deadletter
allow routing Create topic prefixed referrals.
allow routing Read group literal tousu-routing
allow routing Read topic literal audit.log complaints.received deadletter public.complaints referrals.replies violations.found
allow routing Write topic literal audit.log complaints.decisions deadletter public.complaints violations.found
allow routing Write topic prefixed referrals.
deny routing Write topic literal referrals.replies
allow mediation Read group literal tousu-mediation
allow mediation Read topic literal audit.log complaints.decisions deadletter public.complaints violations.found
allow mediation Write topic literal audit.log deadletter mediation.events public.complaints violations.found
allow enforcement Read group literal tousu-enforcement
allow enforcement Read topic literal audit.log complaints.received deadletter violations.found
allow enforcement Write topic literal audit.log deadletter enforcement.cases
allow statistics Read group literal tousu-statistics
allow statistics Read topic literal complaints.decisions complaints.received deadletter enforcement.cases mediation.events
allow statistics Write topic literal deadletter
allow desk Read group literal tousu-desk
allow desk Read topic literal complaints.decisions complaints.received deadletter enforcement.cases mediation.events violations.found
allow desk Write topic literal deadletter
allow CA-310000 Read group prefixed CA-310000
allow CA-310000 Read topic literal public.complaints referrals.CA-310000
allow CA-310000 Write topic literal referrals.replies
allow EEB-310115 Read group prefixed EEB-310115
allow EEB-310115 Read topic literal public.complaints referrals.EEB-310115
allow EEB-310115 Write topic literal referrals.replies
allow AMR-310000 Read group prefixed AMR-310000
allow AMR-310000 Read topic literal audit.log public.complaints
allow cca Read group prefixed cca
allow cca Read topic literal public.complaints
