#!/usr/bin/env bash
# The rate limiter's overhead (issue 7): the first page of the public list, GET /api/v1/offers,
# with the `reads` policy off (READS_RATE_LIMIT=0) and on with a limit no run reaches, in one
# run, alternated (off, on, on with many addresses; twice) so that the noise of a shared
# machine falls on all of them alike.
#
#   fresh passerelle_bench_ratelimit -> release server (every policy off) -> seed-demo -> N
#   generated offers through the staff API -> for each round and mode: a new server process
#   -> 3 s warm-up -> wrk -> bench/results/ratelimit/summary.txt
#
#   Modes: `off` (READS_RATE_LIMIT=0); `on-1` (limit 10^9 per 60 s, every request from
#   127.0.0.1: one counter row, updated by every request, the worst case); `on-4096` (the
#   same limit, TRUSTED_PROXIES=127.0.0.1 and bench/ratelimit_addresses.lua: 4096 addresses,
#   4096 rows, as with real clients).
#
#   cargo build --release   # once, beforehand (PASSERELLE_BIN=target/release/passerelle)
#   bench/ratelimit.sh
#
# Knobs (environment): N (10000), ROUNDS (2), DURATION (20s), CONNECTIONS (16), THREADS (2),
# WORKERS (2), BENCH_DB (passerelle_bench_ratelimit), SKIP_LOAD=1 (reuse the database of an
# earlier run), PORT, PG_HOST/PG_PORT/PG_USER, PASSERELLE_BIN, BENCH_RESULTS
# (bench/results/ratelimit).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
RESULTS=${BENCH_RESULTS:-$HERE/results/ratelimit}
DB=${BENCH_DB:-passerelle_bench_ratelimit}
N=${N:-10000}
ROUNDS=${ROUNDS:-2}
DURATION=${DURATION:-20s}
CONNECTIONS=${CONNECTIONS:-16}
THREADS=${THREADS:-2}
BENCH_WORK=${BENCH_WORK:-/tmp/passerelle-bench-ratelimit}
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

{
    echo "# $(date -u +%FT%TZ) rate limiter overhead, GET /api/v1/offers (first page)"
    echo "# $(psql -X -A -t -d "$DB" -c "SELECT count(*) FROM offers WHERE status = 'published'") published offers; wrk -t$THREADS -c$CONNECTIONS -d$DURATION; WORKERS=$WORKERS; $(nproc) CPUs; commit $(git -C "$HERE" rev-parse --short HEAD 2>/dev/null || echo '?')"
} >"$SUMMARY"

run_mode() {
    local round=$1 mode=$2 script=()
    export TRUSTED_PROXIES= READS_RATE_LIMIT=0 READS_RATE_WINDOW_SECONDS=60
    case $mode in
        off) ;;
        on-1) READS_RATE_LIMIT=1000000000 ;;
        on-4096) READS_RATE_LIMIT=1000000000 TRUSTED_PROXIES=127.0.0.1
                 script=(-s "$HERE/ratelimit_addresses.lua") ;;
    esac
    psql -X -q -d "$DB" -c "TRUNCATE rate_limit_counters"
    restart_server
    local headers
    headers=$(curl -fsS -D - -o /dev/null "$BASE/api/v1/offers" | tr -d '\r' | grep -i '^ratelimit' | tr '\n' ' ' || true)
    wrk -t"$THREADS" -c"$CONNECTIONS" -d3s "${script[@]}" "$BASE/api/v1/offers" >/dev/null
    local out=$RESULTS/wrk-$mode-$round.txt
    log "round $round, $mode: wrk ${script[*]} $BASE/api/v1/offers"
    { echo "# $(date -u +%FT%TZ) READS_RATE_LIMIT=$READS_RATE_LIMIT TRUSTED_PROXIES=$TRUSTED_PROXIES wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency ${script[*]} $BASE/api/v1/offers"
      wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "${script[@]}" "$BASE/api/v1/offers"; } >"$out"
    local rows
    rows=$(psql -X -A -t -d "$DB" -c "SELECT count(*) FROM rate_limit_counters")
    printf '%-8s round %s: %s; counter rows %s; headers: %s\n' "$mode" "$round" \
        "$(wrk_line <"$out")" "$rows" "${headers:-none}" | tee -a "$SUMMARY"
}

for round in $(seq 1 "$ROUNDS"); do
    for mode in off on-1 on-4096; do
        run_mode "$round" "$mode"
    done
done
log "summary in $SUMMARY"
