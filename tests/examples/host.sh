# Sourced by the example tests: starts a real kordon-host on free loopback ports and stops it
# (and every other child the test registers) on exit.
#   source host.sh BIN_DIR PLUGIN_DIR NAME      -> $work, $python, kordon_children (array)
#   start_host <<INI ... INI                     plugin sections; sets $host, $ingress, $egress
bin=$1 plugins=$2
python=/usr/bin/python3   # Debian's python3, which has python3-zmq
kordon_name=$3
work=$(mktemp -d "/tmp/kordon-$kordon_name-XXXXXX")
host=""
kordon_children=()
stop_children() {
  for p in "${kordon_children[@]}" $host; do kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap stop_children EXIT

start_host() {
  { cat <<INI
[host]
name = $kordon_name-test
plugin_path = $plugins
ready_file = ready.json
bus.ingress = tcp://127.0.0.1:*
bus.egress = tcp://127.0.0.1:*

INI
    cat; } >"$work/site.ini"
  "$bin/kordon-host" --config "$work/site.ini" >"$work/host.log" 2>&1 &
  host=$!
  for _ in $(seq 100); do [ -f "$work/ready.json" ] && break; sleep 0.1; done
  [ -f "$work/ready.json" ] || { echo "host not ready"; cat "$work/host.log"; exit 1; }
  read -r ingress egress < <($python -c 'import json,sys; j=json.load(open(sys.argv[1]))
print(j["ingress"], j["egress"])' "$work/ready.json")
}
