#!/usr/bin/env bash
# What gzip costs (issue 13 item 5): the first page of the public list, GET /api/v1/offers
# (20 cards), sent as it is and gzipped, in one run, alternated (identity, gzip; twice), with
# the server's own CPU time per request (from /proc) and the bytes on the wire.
#
#   fresh passerelle_bench_gzip -> release server -> seed-demo -> N generated offers through
#   the staff API -> for each round and mode: 3 s warm-up -> wrk -> bench/results/compression/
#
#   CARGO_TARGET_DIR=/work/target-bench cargo build --release   # once, beforehand
#   bench/compression.sh
#
# Knobs (environment): N (1000), ROUNDS (2), DURATION (15s), CONNECTIONS (16), THREADS (2),
# WORKERS (2), BENCH_DB (passerelle_bench_gzip), SKIP_LOAD=1, PORT, PASSERELLE_BIN,
# BENCH_RESULTS (bench/results/compression).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
RESULTS=${BENCH_RESULTS:-$HERE/results/compression}
DB=${BENCH_DB:-passerelle_bench_gzip}
N=${N:-1000}
ROUNDS=${ROUNDS:-2}
DURATION=${DURATION:-15s}
CONNECTIONS=${CONNECTIONS:-16}
THREADS=${THREADS:-2}
BENCH_WORK=${BENCH_WORK:-/tmp/passerelle-bench-gzip}
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"
export JOB_WORKERS=0 WORKERS=${WORKERS:-2}
unset SMTP_HOST
export READS_RATE_LIMIT=0 SEARCH_RATE_LIMIT=0 APPLY_RATE_LIMIT=0 LOGIN_RATE_LIMIT=0

need_tools wrk psql curl python3
mkdir -p "$RESULTS"
SUMMARY=$RESULTS/summary.txt
: >"$WORK/server-all.log"

load_or_reuse "$RESULTS/load.txt"

URL="$BASE/api/v1/offers"
{
    echo "# $(date -u +%FT%TZ) gzip cost, GET /api/v1/offers (first page, 20 cards)"
    echo "# $(psql -X -A -t -d "$DB" -c "SELECT count(*) FROM offers WHERE status = 'published'") published offers; wrk -t$THREADS -c$CONNECTIONS -d$DURATION; WORKERS=$WORKERS; $(nproc) CPUs; commit $(git -C "$HERE" rev-parse --short HEAD 2>/dev/null || echo '?')"
    echo "# bytes per response: identity $(curl -fsS -o /dev/null -w '%{size_download}' "$URL"), gzip $(curl -fsS -o /dev/null -w '%{size_download}' -H 'Accept-Encoding: gzip' "$URL")"
} >"$SUMMARY"

run_mode() {
    local round=$1 mode=$2 header=()
    [ "$mode" = gzip ] && header=(-H "Accept-Encoding: gzip")
    wrk -t"$THREADS" -c"$CONNECTIONS" -d3s "${header[@]}" "$URL" >/dev/null
    local out=$RESULTS/wrk-$mode-$round.txt before after requests
    before=$(cpu_of "$SERVER_PID")
    { echo "# $(date -u +%FT%TZ) wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency ${header[*]} $URL"
      wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "${header[@]}" "$URL"; } >"$out"
    after=$(cpu_of "$SERVER_PID")
    requests=$(awk '/requests in/ {print $1}' "$out")
    # Clock ticks (1/100 s) to microseconds of server CPU per request.
    printf '%-8s round %s: %s; server CPU %s us/request\n' "$mode" "$round" "$(wrk_line <"$out")" \
        "$(( (after - before) * 10000 / (requests > 0 ? requests : 1) ))" | tee -a "$SUMMARY"
}

for round in $(seq 1 "$ROUNDS"); do
    for mode in identity gzip; do
        run_mode "$round" "$mode"
    done
done
log "summary in $SUMMARY"
