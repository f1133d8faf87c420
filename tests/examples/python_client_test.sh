#!/usr/bin/env bash
# Runs examples/python_client.py against a real kordon-host: the wire format as documented in
# sdk/README.md must be enough for a client in another language.
# Usage: python_client_test.sh BIN_DIR PLUGIN_DIR SOURCE_DIR
set -euo pipefail
source "$(dirname "$0")/host.sh" "$1" "$2" pyclient
src=$3
start_host <<INI
[plugin.lane1-camera]
library = plate-sim.so
lane = lane-1
interval_ms = 50
INI

# A body with Cyrillic text crosses unchanged.
out=$($python "$src/examples/python_client.py" --ingress "$ingress" --egress "$egress" \
      --topic officer.decision --body '{"decision":"cleared","officer":"Асанов Б."}')
echo "$out"
grep -q "round trip ok" <<<"$out"
grep -q "'officer': 'Асанов Б.'" <<<"$out"

# Plate reads published by a plugin decode with the documented envelope layout.
out=$($python - "$egress" "$src/examples" <<'PY'
import sys, zmq
sys.path.insert(0, sys.argv[2])
from python_client import decode_envelope
ctx = zmq.Context(); sub = ctx.socket(zmq.SUB)
sub.setsockopt(zmq.SUBSCRIBE, b"scanner.plate.read"); sub.setsockopt(zmq.RCVTIMEO, 5000)
sub.connect(sys.argv[1])
topic, env, body = sub.recv_multipart()
e = decode_envelope(env)
assert e["source"] == "lane1-camera" and e["lane"] == "lane-1" and len(e["id"]) == 32, e
print("plate read decoded", e["id"])
PY
)
echo "$out"
grep -q "plate read decoded" <<<"$out"
echo "1 passed, 0 failed"
