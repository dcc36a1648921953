#!/usr/bin/env python3
"""The Python side of chapter 四: the same click events, the same topics.

Reads and writes Kafka itself (confluent-kafka), with the same headers as
the Rust chapter:

  content-type    application/x-protobuf | application/vnd.apache.avro+single-object
  schema          tutorial.clicks.ClickEvent
  schema-version  1 | 2

Protobuf message classes come from the FileDescriptorSet the Rust build
compiled (`ch04-serialization descriptor --out clicks.fds`), so no protoc and
no generated *_pb2.py files are needed. Avro schemas are the crate's .avsc
files; the single-object header's fingerprint is computed with fastavro.

    python clicks.py consume --topic T --format protobuf --descriptor clicks.fds --count 10
    python clicks.py produce --topic T --format avro --input events.jsonl

Events on stdin/stdout are JSON lines in the Rust `Click` serde form.
"""

import argparse
import datetime
import io
import json
import pathlib
import sys
import warnings

from confluent_kafka import Consumer, KafkaException, Producer
from fastavro import parse_schema, schemaless_reader, schemaless_writer
from fastavro.schema import fingerprint, to_parsing_canonical_form
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

PROTOBUF = "application/x-protobuf"
AVRO = "application/vnd.apache.avro+single-object"
SCHEMA = "tutorial.clicks.ClickEvent"
MAGIC = b"\xc3\x01"
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
AVRO_DIR = pathlib.Path(__file__).resolve().parent.parent / "avro"


class Refused(Exception):
    """A record this consumer will not decode, with the reason."""


# ---- Protobuf: message classes from the descriptor set -------------------

# ANCHOR: descriptor
def protobuf_classes(descriptor_path):
    fds = descriptor_pb2.FileDescriptorSet()
    fds.ParseFromString(pathlib.Path(descriptor_path).read_bytes())
    pool = descriptor_pool.DescriptorPool()
    for file in fds.file:  # dependencies come first (timestamp.proto)
        pool.Add(file)
    return {
        version: message_factory.GetMessageClass(
            pool.FindMessageTypeByName(f"tutorial.clicks.v{version}.ClickEvent"))
        for version in (1, 2)
    }
# ANCHOR_END: descriptor


def protobuf_encode(classes, version, event):
    msg = classes[version]()
    msg.event_id = event["event_id"]
    msg.user_id = event["user_id"]
    msg.occurred_at.FromMilliseconds(event["occurred_at"])
    msg.action = msg.DESCRIPTOR.fields_by_name["action"].enum_type.values_by_name[
        "ACTION_" + event["action"]].number
    msg.page.url = event["page"]["url"]
    msg.page.title = event["page"]["title"]
    msg.tags.extend(event["tags"])
    msg.duration_ms = event["duration_ms"]
    if version == 1:
        if event.get("referrer") is not None:
            msg.referrer = event["referrer"]
    else:
        msg.session_id = event["session_id"]
    return msg.SerializeToString()


def protobuf_decode(classes, version, value):
    msg = classes[version]()
    msg.ParseFromString(value)
    action = msg.DESCRIPTOR.fields_by_name["action"].enum_type.values_by_number[msg.action].name
    event = {
        "event_id": msg.event_id,
        "user_id": msg.user_id,
        "occurred_at": msg.occurred_at.ToMilliseconds(),
        "action": action.removeprefix("ACTION_"),
        "page": {"url": msg.page.url, "title": msg.page.title},
        "tags": list(msg.tags),
    }
    if version == 1:
        event["referrer"] = msg.referrer if msg.HasField("referrer") else None
        event["duration_ms"] = msg.duration_ms
    else:
        event["duration_ms"] = msg.duration_ms
        event["session_id"] = msg.session_id
    return event


# ---- Avro: single-object encoding with fastavro --------------------------

# ANCHOR: avro
def avro_schemas():
    schemas = {}
    for version in (1, 2):
        schema = parse_schema(json.loads((AVRO_DIR / f"click_v{version}.avsc").read_text()))
        # fastavro prints the 8 fingerprint bytes as hex, little-endian
        # (as they appear on the wire).
        fp = bytes.fromhex(fingerprint(to_parsing_canonical_form(schema), "CRC-64-AVRO"))
        schemas[version] = (schema, fp)
    return schemas


def avro_encode(schemas, version, event):
    schema, fp = schemas[version]
    out = io.BytesIO()
    out.write(MAGIC + fp)
    schemaless_writer(out, schema, event)  # int millis are fine for timestamp-millis
    return out.getvalue()


def avro_decode(schemas, reader_version, value):
    if value[:2] != MAGIC:
        raise Refused(f"not Avro single-object encoding: {value[:2].hex()}")
    writer = next((s for s, fp in schemas.values() if fp == value[2:10]), None)
    if writer is None:
        raise Refused(f"unknown Avro writer schema fingerprint {value[2:10].hex()}")
    # Writer schema from the fingerprint, resolved into our reader schema.
    event = schemaless_reader(io.BytesIO(value[10:]), writer, schemas[reader_version][0])
    event["occurred_at"] = (event["occurred_at"] - EPOCH) // datetime.timedelta(milliseconds=1)
    return event
# ANCHOR_END: avro


# ---- Kafka ----------------------------------------------------------------

def header_map(message):
    return {k: (v.decode() if v is not None else None) for k, v in (message.headers() or [])}


def check_headers(headers, content_type):
    if headers.get("content-type") != content_type:
        raise Refused(f"content-type {headers.get('content-type')!r}: this consumer decodes only {content_type!r}")
    if headers.get("schema") != SCHEMA:
        raise Refused(f"schema {headers.get('schema')!r}: this consumer reads only {SCHEMA!r}")
    try:
        return int(headers.get("schema-version"))
    except (TypeError, ValueError):
        raise Refused(f"schema-version {headers.get('schema-version')!r} is not an integer")


def consume(args):
    if args.format == "protobuf":
        classes = protobuf_classes(args.descriptor)
        content_type, decode = PROTOBUF, lambda v: protobuf_decode(classes, args.reader_version, v)
    else:
        schemas = avro_schemas()
        content_type, decode = AVRO, lambda v: avro_decode(schemas, args.reader_version, v)
    consumer = Consumer({
        "bootstrap.servers": args.brokers,
        "group.id": args.group,
        "auto.offset.reset": "earliest",
        "enable.auto.offset.store": False,
    })
    consumer.subscribe([args.topic])
    handled = 0
    try:
        while handled < args.count:
            message = consumer.poll(args.timeout)
            if message is None:
                print(f"error: only {handled} of {args.count} records arrived in {args.topic} "
                      f"within {args.timeout} s", file=sys.stderr)
                return 1
            if message.error():
                raise KafkaException(message.error())
            out = {"partition": message.partition(), "offset": message.offset(),
                   "key": message.key().decode() if message.key() else None}
            try:
                out["writer_version"] = check_headers(header_map(message), content_type)
                out["event"] = decode(message.value())
            except Refused as refused:
                out["refused"] = str(refused)
            print(json.dumps(out), flush=True)
            consumer.store_offsets(message)
            handled += 1
    finally:
        consumer.close()  # commits the stored offsets, leaves the group
    return 0


def produce(args):
    events = [json.loads(line) for line in pathlib.Path(args.input).read_text().splitlines() if line]
    if args.format == "protobuf":
        classes = protobuf_classes(args.descriptor)
        content_type, encode = PROTOBUF, lambda e: protobuf_encode(classes, args.schema_version, e)
    else:
        schemas = avro_schemas()
        content_type, encode = AVRO, lambda e: avro_encode(schemas, args.schema_version, e)
    producer = Producer({"bootstrap.servers": args.brokers, "enable.idempotence": True})
    failures = []
    for event in events:
        producer.produce(
            args.topic,
            key=event["user_id"].encode(),  # the same key bytes as the Rust producer
            value=encode(event),
            headers=[("content-type", content_type), ("schema", SCHEMA),
                     ("schema-version", str(args.schema_version))],
            on_delivery=lambda err, _msg: err and failures.append(err),
        )
    left = producer.flush(30)
    if left or failures:
        print(f"error: {left} records not delivered, failures: {failures}", file=sys.stderr)
        return 1
    print(f"produced {len(events)} {args.format} v{args.schema_version} records to {args.topic}")
    return 0


# ---- Confluent Schema Registry wire format (framing check only) ----------
#
# Confluent's own serializers need a registry to assign schema ids. These two
# commands use confluent-kafka's in-memory MockSchemaRegistryClient for that;
# nothing here imitates a registry server. They exist to check the Rust
# framing code against the reference implementation, byte for byte.

# ANCHOR: confluent
def confluent_serde(fmt, descriptor):
    # authlib, pulled in by the registry client, turns its deprecation warnings
    # on when imported and then warns about its own httpx use; turn them off.
    from authlib.deprecate import AuthlibDeprecationWarning
    warnings.simplefilter("ignore", AuthlibDeprecationWarning)
    from confluent_kafka.schema_registry import SchemaRegistryClient
    from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
    from confluent_kafka.schema_registry.protobuf import ProtobufDeserializer, ProtobufSerializer
    registry = SchemaRegistryClient.new_client({"url": "mock://ch04"})
    if fmt == "avro":
        schema = (AVRO_DIR / "click_v1.avsc").read_text()
        return (AvroSerializer(registry, schema, conf={"auto.register.schemas": True}),
                AvroDeserializer(registry, schema), registry, lambda e: e)
    cls = protobuf_classes(descriptor)[1]

    def to_message(event):
        msg = cls()
        msg.ParseFromString(protobuf_encode({1: cls}, 1, event))
        return msg
    return (ProtobufSerializer(cls, registry, conf={"use.deprecated.format": False}),
            ProtobufDeserializer(cls, {"use.deprecated.format": False}, registry), registry, to_message)


def confluent_encode(args):
    from confluent_kafka.serialization import MessageField, SerializationContext
    serializer, _, registry, convert = confluent_serde(args.format, args.descriptor)
    context = SerializationContext("clicks", MessageField.VALUE)
    for line in pathlib.Path(args.input).read_text().splitlines():
        value = serializer(convert(json.loads(line)), context)
        schema_id = registry.get_latest_version("clicks-value").schema_id
        print(json.dumps({"schema_id": schema_id, "hex": value.hex()}))
    return 0


def confluent_decode(args):
    from confluent_kafka.serialization import MessageField, SerializationContext
    serializer, deserializer, registry, convert = confluent_serde(args.format, args.descriptor)
    context = SerializationContext("clicks", MessageField.VALUE)
    lines = pathlib.Path(args.input).read_text().splitlines()
    # Register the writer schema the way a Confluent producer would: by serializing.
    serializer(convert(json.loads(lines[0])), context)
    schema_id = registry.get_latest_version("clicks-value").schema_id
    for line in lines[1:]:
        event = deserializer(bytes.fromhex(line), context)
        if args.format == "avro":
            event["occurred_at"] = (event["occurred_at"] - EPOCH) // datetime.timedelta(milliseconds=1)
        else:
            event = protobuf_decode({1: type(event)}, 1, event.SerializeToString())
        print(json.dumps({"schema_id": schema_id, "event": event}))
    return 0
# ANCHOR_END: confluent


def decode_as(args):
    """Parse protobuf bytes as any message type of the descriptor set."""
    from google.protobuf import json_format
    fds = descriptor_pb2.FileDescriptorSet()
    fds.ParseFromString(pathlib.Path(args.descriptor).read_bytes())
    pool = descriptor_pool.DescriptorPool()
    for file in fds.file:
        pool.Add(file)
    msg = message_factory.GetMessageClass(pool.FindMessageTypeByName(args.message))()
    msg.ParseFromString(bytes.fromhex(args.hex))
    print(json.dumps({
        "fields": json_format.MessageToDict(msg, preserving_proto_field_name=True),
        # Unknown fields are kept and written out again.
        "reserialized": msg.SerializeToString().hex(),
    }))
    return 0


def fingerprints(_args):
    for version, (schema, fp) in avro_schemas().items():
        print(json.dumps({"version": version, "fingerprint": fp.hex(),
                          "canonical_form": to_parsing_canonical_form(schema)}))
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("consume", "produce"):
        p = sub.add_parser(name)
        p.add_argument("--brokers", default="localhost:9092")
        p.add_argument("--topic", required=True)
        p.add_argument("--format", choices=["protobuf", "avro"], required=True)
        p.add_argument("--descriptor", help="serialized FileDescriptorSet (protobuf)")
    c = sub.choices["consume"]
    c.add_argument("--group", default="ch04-python")
    c.add_argument("--count", type=int, required=True)
    c.add_argument("--reader-version", type=int, choices=[1, 2], default=1)
    c.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for the next record")
    p = sub.choices["produce"]
    p.add_argument("--input", required=True, help="JSON lines, one event each")
    p.add_argument("--schema-version", type=int, choices=[1, 2], default=1)
    sub.add_parser("fingerprints")
    p = sub.add_parser("decode-as", help="parse protobuf bytes (hex) as the given message type")
    p.add_argument("--descriptor", required=True)
    p.add_argument("--message", required=True, help="e.g. tutorial.clicks.broken.ClickEventChangedType")
    p.add_argument("--hex", required=True)
    for name in ("confluent-encode", "confluent-decode"):
        p = sub.add_parser(name, help="Confluent wire format via confluent-kafka's serializers "
                           "(ids from its in-memory mock registry client)")
        p.add_argument("--format", choices=["protobuf", "avro"], required=True)
        p.add_argument("--descriptor", help="serialized FileDescriptorSet (protobuf)")
        p.add_argument("--input", required=True,
                       help="encode: JSON lines; decode: first line an event (registers the schema), "
                            "then hex values")
    args = parser.parse_args()
    if getattr(args, "format", None) == "protobuf" and not args.descriptor:
        parser.error("--format protobuf needs --descriptor (write one with: "
                     "cargo run -p ch04-serialization -- descriptor --out clicks.fds)")
    return {"consume": consume, "produce": produce, "fingerprints": fingerprints,
            "decode-as": decode_as,
            "confluent-encode": confluent_encode,
            "confluent-decode": confluent_decode}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
