#!/usr/bin/env bash
# Frames per second of one worker watching K = 1, 2, 4 cameras at once (--max-streams K),
# over the same cameras each time, each run in a fresh nats-server, alternating, ROUNDS
# times (default 3):
#   scripts/worker_streams.sh MODEL SOURCE...
# e.g. four Ped2 test clips standing in for four cameras:
#   scripts/worker_streams.sh /models/ped2-visual ../shared/datasets/ucsd-ped2/UCSDped2/Test/Test00{1..4}
# Needs nats-server and a release build (AVAD, default target/release/avad). HOP=N scores
# a window every N frames (default: the model's preset).
set -euo pipefail
avad="${AVAD:-target/release/avad}"
rounds="${ROUNDS:-3}"
model="$1"; shift
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
run() { # run K SOURCE...: prints "K frames seconds"
    local k="$1" dir port url start end frames
    shift
    dir="$(mktemp -d)"; port="$(free_port)"; url="nats://127.0.0.1:$port"
    nats-server -js -a 127.0.0.1 -p "$port" -sd "$dir" >/dev/null 2>&1 & local server=$!
    until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do sleep 0.1; done
    "$avad" worker --nats "$url" --max-streams "$k" 2>/dev/null & local worker=$!
    sleep 1
    start=$(date +%s.%N)
    "$avad" submit --camera --nats "$url" --model "$model" ${HOP:+--hop "$HOP"} "$@" >/dev/null || exit 1
    local total=$#
    until [ "$("$avad" jobs --json --nats "$url" | grep -c '"state":"done"')" -ge "$total" ]; do
        if "$avad" jobs --json --nats "$url" | grep -q '"state":"failed"'; then
            "$avad" jobs --nats "$url" >&2; exit 1
        fi
        sleep 0.2
    done
    end=$(date +%s.%N)
    frames=$("$avad" jobs --json --nats "$url" | python3 -c 'import sys,json; print(sum(json.loads(l).get("frames",0) for l in sys.stdin))')
    kill -TERM "$worker"; wait "$worker" 2>/dev/null || true
    kill "$server"; wait "$server" 2>/dev/null || true
    rm -rf "$dir"
    echo "$k $frames $(python3 -c "print(round($end - $start, 2))")"
}
for r in $(seq "$rounds"); do
    for k in 1 2 4; do
        result="$(run "$k" "$@")"
        read -r streams frames seconds <<< "$result"
        echo "round $r: K=$streams: $frames frames in $seconds s, $(python3 -c "print(round($frames / $seconds, 1))") frames/s"
    done
done
