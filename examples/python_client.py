#!/usr/bin/env python3
"""An external Kordon bus client in Python (pyzmq; Debian package python3-zmq).

Publishes one message through the host's bus.ingress, then prints messages from
bus.egress until it has seen that message come back (or --count messages).

    python3 examples/python_client.py --ingress tcp://127.0.0.1:7400 --egress tcp://127.0.0.1:7401

The wire format is documented in sdk/README.md, "The wire format on the bus".
"""
import argparse
import json
import os
import struct
import sys
import time

import zmq

HEADER = struct.Struct("<BBHqI16s16s")  # magic, format, flags, time_us, schema_version, id, correlation
MAGIC, FORMAT = 0x4B, 1
FIELDS = ("source", "lane", "crossing_id", "schema", "reply_to")


def encode_envelope(source, lane="", crossing_id="", schema="", reply_to="", schema_version=1):
    msg_id = os.urandom(16)
    head = HEADER.pack(MAGIC, FORMAT, 0, int(time.time() * 1_000_000), schema_version, msg_id, bytes(16))
    strings = b""
    for value in (source, lane, crossing_id, schema, reply_to):
        raw = value.encode("utf-8")
        if len(raw) > 255:
            raise ValueError("envelope string longer than 255 bytes")
        strings += bytes([len(raw)]) + raw
    return head + strings, msg_id.hex()


def decode_envelope(frame):
    if len(frame) < HEADER.size:
        raise ValueError("envelope shorter than its fixed header")
    magic, fmt, flags, time_us, version, msg_id, corr = HEADER.unpack_from(frame)
    if magic != MAGIC or fmt != FORMAT:
        raise ValueError("not a Kordon envelope (format 1)")
    out = {"time_us": time_us, "schema_version": version, "id": msg_id.hex(), "flags": flags,
           "correlation_id": "" if corr == bytes(16) else corr.hex()}
    pos = HEADER.size
    for name in FIELDS:
        n = frame[pos]
        out[name] = frame[pos + 1:pos + 1 + n].decode("utf-8")
        pos += 1 + n
    return out


def topic_matches(prefix, topic):
    """Whole-segment prefix match, as the host does it."""
    return prefix == "" or topic == prefix or topic.startswith(prefix + ".")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ingress", default="tcp://127.0.0.1:7400")
    ap.add_argument("--egress", default="tcp://127.0.0.1:7401")
    ap.add_argument("--topic", default="officer.decision")
    ap.add_argument("--body", default='{"decision": "cleared", "officer": "Асанов Б."}')
    ap.add_argument("--lane", default="lane-1")
    ap.add_argument("--timeout", type=float, default=10.0)
    args = ap.parse_args()

    ctx = zmq.Context()
    sub = ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.SUBSCRIBE, args.topic.encode())
    sub.connect(args.egress)
    push = ctx.socket(zmq.PUSH)
    push.setsockopt(zmq.LINGER, 5000)
    push.connect(args.ingress)
    time.sleep(0.3)  # let the subscription reach the host (ZeroMQ's slow joiner)

    envelope, msg_id = encode_envelope("py-example", lane=args.lane)
    body = json.dumps(json.loads(args.body), ensure_ascii=False).encode("utf-8")
    push.send_multipart([args.topic.encode(), envelope, body])
    print(f"published {args.topic} id={msg_id}")

    deadline = time.time() + args.timeout
    poller = zmq.Poller()
    poller.register(sub, zmq.POLLIN)
    while time.time() < deadline:
        if not poller.poll(100):
            continue
        frames = sub.recv_multipart()
        if len(frames) != 3:
            continue
        topic = frames[0].decode()
        if not topic_matches(args.topic, topic):
            continue
        env = decode_envelope(frames[1])
        print(f"received {topic} id={env['id']} from={env['source']} lane={env['lane']} "
              f"body={json.loads(frames[2])}")
        if env["id"] == msg_id:
            print("round trip ok")
            return 0
    print("timed out waiting for the message to come back", file=sys.stderr)
    return 3


if __name__ == "__main__":
    sys.exit(main())
