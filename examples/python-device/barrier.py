#!/usr/bin/env python3
"""A device adapter in Python: a lane barrier that joins the Kordon bus over TCP.

It uses nothing but the wire format documented in sdk/README.md ("The wire format on the
bus") and Debian's python3-zmq. When a crossing on its lane closes with the officer's
decision "cleared", it opens the barrier for --open-s seconds, then closes it; any other
decision leaves it closed. It reports its state as device.status (so `kordon devices` and
the console see it) and answers device.status.request.

    python3 examples/python-device/barrier.py --lane lane-1 \
        --ingress tcp://127.0.0.1:7400 --egress tcp://127.0.0.1:7401

Publishes: barrier.state {barrier, lane, state: open|closed, crossing_id, reason}
           (sdk/schemas/barrier.state.v1.json), device.status.
Subscribes: crossing.closed, device.status.request.
"""
import argparse
import json
import os
import sys
import time

import zmq

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from python_client import decode_envelope, encode_envelope, topic_matches  # noqa: E402

SUBSCRIPTIONS = ("crossing.closed", "device.status.request")


class Barrier:
    def __init__(self, args):
        self.args = args
        self.name = args.name or f"{args.lane}-barrier"
        self.state = "closed"       # the barrier arm
        self.device_state = "closed"  # UnifiedPOS-style, as device.status says it
        self.since = None
        self.close_at = None
        self.opened = 0
        self.bad_frames = 0
        ctx = zmq.Context.instance()
        self.push = ctx.socket(zmq.PUSH)
        self.push.setsockopt(zmq.LINGER, 2000)
        self.push.connect(args.ingress)
        self.sub = ctx.socket(zmq.SUB)
        self.sub.connect(args.egress)
        for prefix in SUBSCRIPTIONS:
            self.sub.setsockopt(zmq.SUBSCRIBE, prefix.encode())

    def publish(self, topic, body):
        envelope, msg_id = encode_envelope(self.name, lane=self.args.lane)
        self.push.send_multipart([topic.encode(), envelope,
                                  json.dumps(body, ensure_ascii=False).encode("utf-8")])
        return msg_id

    def status(self, new_state, reason, requested=False):
        previous = self.device_state
        self.device_state = new_state
        if previous != new_state or self.since is None:
            self.since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        self.publish("device.status", {
            "device": self.name, "kind": "barrier", "state": new_state, "previous": previous,
            "reason": reason, "link": self.args.egress, "healthy": new_state in ("idle", "busy"),
            "since": self.since, "requested": requested,
            "stats": {"opened": self.opened, "bad_frames": self.bad_frames}})

    def move(self, state, crossing_id, reason):
        self.state = state
        self.publish("barrier.state", {"barrier": self.name, "lane": self.args.lane,
                                       "state": state, "crossing_id": crossing_id,
                                       "reason": reason})
        print(f"barrier {self.name}: {state} ({reason})", flush=True)

    def on_message(self, topic, env, body):
        if topic == "device.status.request":
            wanted = body.get("device") if isinstance(body, dict) else None
            if wanted in (None, "", self.name):
                self.status(self.device_state, "asked", requested=True)
            return
        if topic != "crossing.closed" or not isinstance(body, dict):
            return
        if body.get("lane") != self.args.lane:
            return
        decision = body.get("decision")
        verdict = decision.get("decision") if isinstance(decision, dict) else None
        crossing_id = body.get("id") if isinstance(body.get("id"), str) else env["crossing_id"]
        if verdict == "cleared" and self.state == "closed":
            self.opened += 1
            self.status("busy", f"open for crossing {crossing_id}")
            self.move("open", crossing_id, "cleared by the officer")
            self.close_at = time.monotonic() + self.args.open_s
        elif verdict != "cleared":
            print(f"barrier {self.name}: stays closed for {crossing_id} "
                  f"({verdict or body.get('close_reason')})", flush=True)

    def run(self):
        self.status("idle", "started")
        poller = zmq.Poller()
        poller.register(self.sub, zmq.POLLIN)
        cycles = 0
        while self.args.count == 0 or cycles < self.args.count:
            if self.close_at is not None and time.monotonic() >= self.close_at:
                self.close_at = None
                self.move("closed", "", "the vehicle has passed")
                self.status("idle", "closed")
                cycles += 1
                continue
            if not poller.poll(100):
                continue
            frames = self.sub.recv_multipart()
            # Every frame from the bus is checked: three frames, a known envelope, a JSON object.
            try:
                if len(frames) != 3:
                    raise ValueError(f"{len(frames)} frames, expected 3")
                topic = frames[0].decode("utf-8")
                env = decode_envelope(frames[1])
                body = json.loads(frames[2].decode("utf-8"))
            except (ValueError, UnicodeDecodeError, IndexError) as e:
                self.bad_frames += 1
                print(f"barrier {self.name}: bad frame skipped: {e}", file=sys.stderr, flush=True)
                continue
            if any(topic_matches(p, topic) for p in SUBSCRIPTIONS):
                self.on_message(topic, env, body)
        self.status("closed", "stopping")
        time.sleep(0.2)  # let the last status leave


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ingress", default="tcp://127.0.0.1:7400")
    ap.add_argument("--egress", default="tcp://127.0.0.1:7401")
    ap.add_argument("--lane", required=True)
    ap.add_argument("--name", help="device name (default LANE-barrier)")
    ap.add_argument("--open-s", type=float, default=5.0, help="how long the barrier stays open")
    ap.add_argument("--count", type=int, default=0, help="exit after N open/close cycles")
    args = ap.parse_args()
    try:
        Barrier(args).run()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
