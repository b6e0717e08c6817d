"""A consumer association's subscriber to `public.complaints`, with a stock Kafka
client and the schema file alone (no tousu code):

    python examples/subscribe_public.py BOOTSTRAP [--once]

On a broker with users (docker-compose.yml), set KAFKA_SASL_USERNAME and
KAFKA_SASL_PASSWORD (the example user is `cca`).
"""
import io
import json
import os
import sys
from pathlib import Path

import fastavro
from confluent_kafka import Consumer, TopicPartition

schema = fastavro.parse_schema(json.loads(
    (Path(__file__).resolve().parents[1] / "schemas" / "PublicComplaintUpdate.avsc").read_text()))
settings = {"bootstrap.servers": sys.argv[1], "group.id": "cca", "enable.auto.commit": False}
if os.environ.get("KAFKA_SASL_USERNAME"):
    settings.update({"security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "SCRAM-SHA-512",
                     "sasl.username": os.environ["KAFKA_SASL_USERNAME"],
                     "sasl.password": os.environ["KAFKA_SASL_PASSWORD"]})
consumer = Consumer(settings)
consumer.assign([TopicPartition("public.complaints", p, 0) for p in range(4)])
idle = 0
while idle < 5 or "--once" not in sys.argv:
    message = consumer.poll(1.0)
    if message is None or message.error():
        idle += 1
        continue
    idle = 0
    body = io.BytesIO(message.value()[10:])  # after C3 01 and the 8-byte schema fingerprint
    update = fastavro.schemaless_reader(body, schema)
    print(json.dumps(update, ensure_ascii=False, default=str), flush=True)
consumer.close()
