"""A consumer association's subscriber to `public.complaints`, with a stock Kafka
client and the schema file alone (no tousu code):

    python examples/subscribe_public.py BOOTSTRAP [--once] [--group NAME]

It remembers how far it has read (the offsets of its consumer group, `cca` by
default, committed after each update it has printed), so the next run goes on
from there instead of starting again from the first update. `--once` stops when
nothing new has come for a few seconds.

On a broker with users (docker-compose.yml), set KAFKA_SASL_USERNAME and
KAFKA_SASL_PASSWORD (the example user is `cca`, whose groups start with `cca`).
"""
import argparse
import io
import json
import os
from pathlib import Path

import fastavro
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

TOPIC = "public.complaints"

arguments = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].replace("\n", " "))
arguments.add_argument("bootstrap")
arguments.add_argument("--once", action="store_true")
arguments.add_argument("--group", default="cca")
args = arguments.parse_args()

schema = fastavro.parse_schema(json.loads(
    (Path(__file__).resolve().parents[1] / "schemas" / "PublicComplaintUpdate.avsc").read_text()))
settings = {"bootstrap.servers": args.bootstrap, "group.id": args.group, "enable.auto.commit": False}
if os.environ.get("KAFKA_SASL_USERNAME"):
    settings.update({"security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "SCRAM-SHA-512",
                     "sasl.username": os.environ["KAFKA_SASL_USERNAME"],
                     "sasl.password": os.environ["KAFKA_SASL_PASSWORD"]})
consumer = Consumer(settings)
# Assigned rather than subscribed (no group join to wait for); the group keeps
# the offsets. A partition the group never committed starts at the beginning.
partitions = consumer.list_topics(TOPIC, timeout=10).topics[TOPIC].partitions
committed = consumer.committed([TopicPartition(TOPIC, p) for p in partitions], timeout=10)
consumer.assign([TopicPartition(TOPIC, tp.partition, tp.offset if tp.offset >= 0 else OFFSET_BEGINNING)
                 for tp in committed])
idle = 0
# A message may come twice (the same event_id) when a worker or the broker died
# while it was being sent: each update is printed once.
seen: set[str] = set()
while idle < 5 or not args.once:
    message = consumer.poll(1.0)
    if message is None or message.error():
        idle += 1
        continue
    idle = 0
    body = io.BytesIO(message.value()[10:])  # after C3 01 and the 8-byte schema fingerprint
    update = fastavro.schemaless_reader(body, schema)
    if update["event_id"] not in seen:
        seen.add(update["event_id"])
        print(json.dumps(update, ensure_ascii=False, default=str), flush=True)
    consumer.commit(message, asynchronous=False)
consumer.close()
