# Shared by the `avad features` timing scripts (sourced, not run).

# secs CMD...: the wall time of CMD in seconds, its output discarded.
secs() {
    local s e
    s=$(date +%s.%N)
    "$@" >/dev/null 2>&1
    e=$(date +%s.%N)
    awk -v s="$s" -v e="$e" 'BEGIN { printf "%.3f", e - s }'
}

# per_file AVAD FOLDER OUT: `AVAD features` on each WAV of FOLDER, one process per file.
per_file() { for f in "$2"/*.wav; do "$1" features "$f" --out "$3"; done; }

# median FILE COLUMN: the median of a column of space-separated numbers.
median() { cut -d' ' -f"$2" "$1" | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
