#!/usr/bin/env bash
# Frames per second of 1 worker against 2 on the same batch of jobs, each in a fresh
# nats-server, alternating, ROUNDS times (default 3):
#   scripts/worker_throughput.sh MODEL SOURCE...
# e.g. the Ped2 test clips with a visual model:
#   scripts/worker_throughput.sh /models/ped2-visual ../shared/datasets/ucsd-ped2/UCSDped2/Test/Test0{01..12}
# Needs nats-server and a release build (AVAD, default target/release/avad). HOP=N scores
# a window every N frames (default: the model's preset).
set -euo pipefail
avad="${AVAD:-target/release/avad}"
rounds="${ROUNDS:-3}"
model="$1"; shift
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
run() { # run N: prints "N frames seconds"
    local n="$1" dir port url pids=() start end frames
    shift
    dir="$(mktemp -d)"; port="$(free_port)"; url="nats://127.0.0.1:$port"
    nats-server -js -a 127.0.0.1 -p "$port" -sd "$dir" >/dev/null 2>&1 & local server=$!
    until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do sleep 0.1; done
    for i in $(seq "$n"); do
        "$avad" worker --nats "$url" --name "w$i" 2>/dev/null & pids+=($!)
    done
    sleep 1
    start=$(date +%s.%N)
    "$avad" submit --nats "$url" --model "$model" ${HOP:+--hop "$HOP"} "$@" >/dev/null || exit 1
    local total=$#
    until [ "$("$avad" jobs --json --nats "$url" | grep -c '"state":"done"')" -ge "$total" ]; do
        if "$avad" jobs --json --nats "$url" | grep -q '"state":"failed"'; then
            "$avad" jobs --nats "$url" >&2; exit 1
        fi
        sleep 0.2
    done
    end=$(date +%s.%N)
    frames=$("$avad" jobs --json --nats "$url" | python3 -c 'import sys,json; print(sum(json.loads(l).get("frames",0) for l in sys.stdin))')
    kill -TERM "${pids[@]}"; wait "${pids[@]}" 2>/dev/null || true
    kill "$server"; wait "$server" 2>/dev/null || true
    rm -rf "$dir"
    echo "$n $frames $(python3 -c "print(round($end - $start, 2))")"
}
for r in $(seq "$rounds"); do
    for n in 1 2; do
        result="$(run "$n" "$@")"
        read -r workers frames seconds <<< "$result"
        echo "round $r: $workers worker(s): $frames frames in $seconds s, $(python3 -c "print(round($frames / $seconds, 1))") frames/s"
    done
done
