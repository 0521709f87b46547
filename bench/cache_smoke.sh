#!/usr/bin/env bash
# A short smoke measurement of the public response cache (issue 15 item 1): a few seconds of
# wrk each on /health/live (the HTTP ceiling of this box, no database), an offer, its 304,
# and the list's first page, with the cache on, then the same with PUBLIC_CACHE_BYTES=0 in
# the same minute. The limiter is off (READS_RATE_LIMIT=0): it is measured on its own.
#
#   PASSERELLE_BIN=target/release/passerelle N=1000 bench/cache_smoke.sh
#
# Knobs: N (offers, 1000), DURATION (3s), CONNECTIONS (32), THREADS (2), SKIP_LOAD=1.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
DB=${BENCH_DB:-passerelle_cache_smoke}
N=${N:-1000}
DURATION=${DURATION:-3s}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"
export READS_RATE_LIMIT=0 SEARCH_RATE_LIMIT=0 JOB_WORKERS=0
need_tools wrk curl python3 psql
load_or_reuse "$WORK/cache-load.txt"

ID=$(curl -fsS "$BASE/api/v1/offers?limit=1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["items"][0]["id"])')
ETAG=$(curl -fsS -o /dev/null -D - "$BASE/api/v1/offers/$ID" | awk 'tolower($1)=="etag:" {print $2}' | tr -d '\r')

measure() { # label path [header]
    local label=$1 path=$2 header=${3:-}
    local args=(-t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency)
    [ -n "$header" ] && args+=(-H "$header")
    printf '%-28s %s\n' "$label" "$(wrk "${args[@]}" "$BASE$path" | wrk_line)"
}

round() { # tag
    measure "$1 hello (/health/live)" /health/live
    measure "$1 offer" "/api/v1/offers/$ID"
    measure "$1 offer 304" "/api/v1/offers/$ID" "If-None-Match: $ETAG"
    measure "$1 list first page" "/api/v1/offers"
}

echo "# $(date -u +%FT%TZ) $N offers (+ demo), wrk -t$THREADS -c$CONNECTIONS -d$DURATION, $BIN"
round cached
export PUBLIC_CACHE_BYTES=0
restart_server
round uncached
