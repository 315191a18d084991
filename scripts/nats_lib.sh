# Shared by the worker measurement scripts (sourced, not run): a nats-server of their own,
# and waiting for the jobs on it.

# start_nats DIR: a `nats-server -js` storing in DIR on a free loopback port; sets
# NATS_URL and NATS_PID once it accepts connections.
start_nats() {
    local port
    port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
    NATS_URL="nats://127.0.0.1:$port"
    nats-server -js -a 127.0.0.1 -p "$port" -sd "$1" >/dev/null 2>&1 & NATS_PID=$!
    until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do sleep 0.1; done
}

stop_nats() {
    kill "$NATS_PID"; wait "$NATS_PID" 2>/dev/null || true
}

# wait_done AVAD TOTAL: waits until TOTAL jobs on NATS_URL are done; a failed job is
# printed, and ends the script.
wait_done() {
    until [ "$("$1" jobs --json --nats "$NATS_URL" | grep -c '"state":"done"')" -ge "$2" ]; do
        if "$1" jobs --json --nats "$NATS_URL" | grep -q '"state":"failed"'; then
            "$1" jobs --nats "$NATS_URL" >&2; exit 1
        fi
        sleep 0.2
    done
}

# frames_done AVAD: the frames of every job on NATS_URL, summed.
frames_done() {
    "$1" jobs --json --nats "$NATS_URL" | python3 -c 'import sys,json; print(sum(json.loads(l).get("frames",0) for l in sys.stdin))'
}
