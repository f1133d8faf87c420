#!/usr/bin/env bash
# Runs examples/python-device/barrier.py against a real kordon-host: a device adapter in
# Python, speaking only the documented wire format, is seen by `kordon devices`, opens on a
# cleared crossing of its lane and closes again, and stays closed for another lane; a
# malformed frame sent meanwhile is refused by the host and changes nothing.
# Usage: python_device_test.sh BIN_DIR PLUGIN_DIR SOURCE_DIR
set -euo pipefail
source "$(dirname "$0")/host.sh" "$1" "$2" pydevice
src=$3
start_host <<INI
[plugin.logger]
library = logger.so
subscribe = barrier
INI
ep=(--ingress "$ingress" --egress "$egress")

$python "$src/examples/python-device/barrier.py" "${ep[@]}" --lane lane-1 --open-s 0.5 --count 1 \
  >"$work/barrier.out" 2>"$work/barrier.err" &
barrier=$!; kordon_children+=("$barrier")
# Seen by the health check (its subscriptions are live once it answers).
for _ in $(seq 50); do
  if "$bin/kordon" devices "${ep[@]}" --wait-ms 300 --json 2>/dev/null | grep -q '"device":"lane-1-barrier"'; then
    found=1; break
  fi
done
[ "${found:-0}" = 1 ] || { echo "the barrier never answered device.status.request"; cat "$work/barrier.err"; exit 1; }

"$bin/kordon" tail barrier.state "${ep[@]}" --json --count 2 --timeout-ms 10000 >"$work/tail.jsonl" &
tail=$!; kordon_children+=("$tail")
sleep 0.5
# A malformed frame (two frames only) and another lane's crossing: neither moves it.
$python - "$ingress" <<'PY'
import sys, zmq
s = zmq.Context.instance().socket(zmq.PUSH); s.connect(sys.argv[1]); s.send_multipart([b"crossing.closed", b"junk"])
PY
"$bin/kordon" pub crossing.closed '{"id":"C-2","lane":"lane-2","decision":{"decision":"cleared"}}' "${ep[@]}" --lane lane-2 >/dev/null
"$bin/kordon" pub crossing.closed '{"id":"C-1","lane":"lane-1","decision":{"decision":"cleared"}}' "${ep[@]}" --lane lane-1 >/dev/null
wait "$barrier"; barrier=""
wait "$tail" || true; tail=""
cat "$work/barrier.out" "$work/tail.jsonl"
grep -q '"state":"open"' "$work/tail.jsonl"
grep -q '"crossing_id":"C-1"' "$work/tail.jsonl"
grep -q '"state":"closed"' "$work/tail.jsonl"
! grep -q 'C-2' "$work/tail.jsonl"
echo "python device: ok"
