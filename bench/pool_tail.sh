#!/usr/bin/env bash
# The latency tail of GET /api/v1/offers/{slug} at 16 connections, with the default
# DATABASE_POOL_SIZE=10 and with 16, on the database bench/run.sh loaded. Three 10 s wrk runs
# each, alternated. Writes bench/results/pool-tail.txt.
# Knobs: DURATION (10s), ROUNDS (3), POOLS ("10 16"), URL_SLUG (else read from
# $BENCH_RESULTS/params.env), BENCH_DB, PASSERELLE_BIN, OUT (the result file).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
RESULTS=${BENCH_RESULTS:-$HERE/results}
[ -n "${URL_SLUG:-}" ] || . "$RESULTS/params.env"
DURATION=${DURATION:-10s}
ROUNDS=${ROUNDS:-3}
POOLS=${POOLS:-10 16}
BIN=${PASSERELLE_BIN:-/work/target-bench/release/passerelle}
PORT=${PORT:-18080}
export DATABASE_URL=postgres://${PG_USER:-postgres}@${PG_HOST:-127.0.0.1}:${PG_PORT:-5432}/${BENCH_DB:-passerelle_bench}
export JWT_SECRET=${JWT_SECRET:-passerelle-bench-secret-0123456789abcdef}
export LISTEN_ADDR=127.0.0.1:$PORT PUBLIC_BASE_URL=http://127.0.0.1:$PORT RUST_LOG=warn
# The pool is measured, not the limiter (one address would be refused after 600 reads).
export READS_RATE_LIMIT=${READS_RATE_LIMIT:-0} JOB_WORKERS=0 WORKERS=${WORKERS:-2}
URL=http://127.0.0.1:$PORT$URL_SLUG
out=${OUT:-$RESULTS/pool-tail.txt}
echo "# $(date -u +%FT%TZ) $BIN ($("$BIN" --version 2>/dev/null || echo ?)) wrk -t2 -c16 -d$DURATION --latency $URL" >"$out"
for round in $(seq 1 "$ROUNDS"); do
    for pool in $POOLS; do
        DATABASE_POOL_SIZE=$pool "$BIN" serve >/dev/null 2>&1 &
        pid=$!
        until curl -fsS -o /dev/null "http://127.0.0.1:$PORT/health/ready" 2>/dev/null; do sleep 0.2; done
        curl -fsS -o /dev/null "$URL"
        r=$(wrk -t2 -c16 -d"$DURATION" --latency "$URL")
        printf 'round %s  DATABASE_POOL_SIZE=%-3s %8s req/s  p50 %-8s p90 %-8s p99 %-9s max %s\n' "$round" "$pool" \
            "$(awk '/Requests\/sec/ {print $2}' <<<"$r")" "$(awk '$1=="50%" {print $2}' <<<"$r")" \
            "$(awk '$1=="90%" {print $2}' <<<"$r")" "$(awk '$1=="99%" {print $2}' <<<"$r")" \
            "$(awk '$1=="Latency" {print $4}' <<<"$r")" >>"$out"
        kill $pid; wait $pid 2>/dev/null || true
    done
done
cat "$out"
