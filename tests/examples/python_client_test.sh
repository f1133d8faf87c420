#!/usr/bin/env bash
# Runs examples/python_client.py against a real kordon-host: the wire format as documented in
# sdk/README.md must be enough for a client in another language.
# Usage: python_client_test.sh BIN_DIR PLUGIN_DIR SOURCE_DIR
set -euo pipefail
bin=$1 plugins=$2 src=$3
python=/usr/bin/python3   # Debian's python3, which has python3-zmq
work=$(mktemp -d /tmp/kordon-pyclient-XXXXXX)
host=""
cleanup() {
  if [ -n "$host" ] && kill -0 "$host" 2>/dev/null; then kill -TERM "$host"; wait "$host" || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

cat >"$work/site.ini" <<INI
[host]
name = py-test
plugin_path = $plugins
ready_file = ready.json
bus.ingress = tcp://127.0.0.1:*
bus.egress = tcp://127.0.0.1:*

[plugin.lane1-camera]
library = plate-sim.so
lane = lane-1
interval_ms = 50
INI
"$bin/kordon-host" --config "$work/site.ini" >"$work/host.log" 2>&1 &
host=$!
for _ in $(seq 100); do [ -f "$work/ready.json" ] && break; sleep 0.1; done
[ -f "$work/ready.json" ] || { echo "host not ready"; cat "$work/host.log"; exit 1; }
read -r ingress egress < <($python -c 'import json,sys; j=json.load(open(sys.argv[1])); print(j["ingress"], j["egress"])' "$work/ready.json")

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
