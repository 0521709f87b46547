#!/usr/bin/env bash
# sort=relevance against the default sort of the same search (issue 15 item 3), on the page
# query of src/offers/model.rs alone (bench/sql/page_search*.sql):
#
#   fresh passerelle_bench_relevance -> server -> seed-demo -> N offers of
#   bench/generate_offers.py (seed 20261201, dates from TODAY) through the staff API
#   -> passerelle migrate -> VACUUM ANALYZE -> vector sizes
#   -> per word: EXPLAIN (ANALYZE, BUFFERS) of relevance, the default sort, the old
#      whole-vector relevance and the ids of all matches (warmed once in the session), the median execution time of
#      RUNS more runs, and pgbench with one client, ROUNDS rounds of DURATION per query, the
#      three alternating (the median latency average = ms per query)
#   -> bench/results/relevance/summary.txt
#
#   CARGO_TARGET_DIR=/work/target-bench cargo build --release   # once, beforehand
#   bench/relevance.sh                    # SKIP_LOAD=1 reuses the database of a run before
#
# Knobs (environment): N (10000), TODAY (2026-12-04), WORDS ("coopération numérique Tiznit"),
# RUNS (9), DURATION (3 s), ROUNDS (3), BENCH_DB, PORT, PASSERELLE_BIN, BENCH_RESULTS.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
RESULTS=${BENCH_RESULTS:-$HERE/results/relevance}
SQL=$HERE/sql
DB=${BENCH_DB:-passerelle_bench_relevance}
N=${N:-10000}
TODAY=${TODAY:-2026-12-04}
WORDS=${WORDS:-coopération numérique Tiznit}
RUNS=${RUNS:-9}
DURATION=${DURATION:-3}
ROUNDS=${ROUNDS:-3}
BENCH_WORK=${BENCH_WORK:-/tmp/passerelle-bench-relevance}
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"
export JOB_WORKERS=0
unset SMTP_HOST

need_tools pgbench psql curl python3
mkdir -p "$RESULTS"
SUMMARY=$RESULTS/summary.txt

if [ "${SKIP_LOAD:-0}" != 1 ]; then
    fresh_db
    start_server
    seed_demo
    log "generating $N offers (seed 20261201, today $TODAY)"
    python3 "$HERE/generate_offers.py" -n "$N" --seed 20261201 --today "$TODAY" -o "$WORK/offers.json"
    log "loading them through POST /api/v1/staff/offers + /publish"
    python3 "$HERE/load.py" --url "$BASE" --offers "$WORK/offers.json" --concurrency 4 | tail -3
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
fi
log "passerelle migrate (a database loaded by an older build gets search_head here)"
"$BIN" migrate >"$WORK/migrate.log" 2>&1
psql -X -q -d "$DB" -c "VACUUM ANALYZE offers"

{
    echo "# $(date -u +%FT%TZ) bench/relevance.sh on $DB, $(git -C "$HERE" rev-parse --short HEAD 2>/dev/null || echo '?')"
    psql -X -At -F ' ' -d "$DB" -c "SELECT count(*) FILTER (WHERE status = 'published') || ' published offers of ' || count(*) || '; average bytes: search ' || avg(pg_column_size(search))::int || ', search_head ' || avg(pg_column_size(search_head))::int FROM offers"
    echo "# per word: matches; median execution time of $RUNS EXPLAIN (ANALYZE, TIMING OFF) in one session (ms); median of $ROUNDS pgbench -n -c1 -j1 -T$DURATION latency averages (ms)"
    printf '%-14s %7s | %-32s | %-32s | %-32s | %-32s | %s\n' word matches "relevance (search_head)" "default sort" "relevance (whole search)" "ids of all matches" "ratio relevance/default"
} >"$SUMMARY"

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

sql_of() { # kind
    case $1 in
        relevance) grep -v '^--' "$SQL/page_search_relevance.sql" ;;
        default) grep -v '^--' "$SQL/page_search.sql" ;;
        whole) grep -v '^--' "$SQL/page_search_relevance_whole.sql" ;;
        ids) grep -v '^--' "$SQL/page_search_ids.sql" ;;
    esac
}
KINDS="relevance default whole ids"

for word in $WORDS; do
    q="'$word'"
    # File names in ASCII: coopération -> cooperation.
    name=$(python3 -c 'import sys, unicodedata; print(unicodedata.normalize("NFKD", sys.argv[1]).encode("ascii", "ignore").decode().lower())' "$word")
    matches=$(psql -X -At -d "$DB" -c "SELECT count(*) FROM offers WHERE status = 'published' AND search @@ websearch_to_tsquery('passerelle_fr', $q)")
    declare -A exec_ms=() lat=()
    for kind in $KINDS; do
        # The plan kept: warmed once in the same session (dictionaries, caches), then shown.
        {
            echo "-- EXPLAIN (ANALYZE, BUFFERS) of the $kind query (bench/sql), q = $q, on $DB ($(date -u +%F))"
            {
                echo "\\o /dev/null"
                echo "EXPLAIN (ANALYZE, BUFFERS)"; sql_of "$kind"
                echo "\\o"
                echo "EXPLAIN (ANALYZE, BUFFERS)"; sql_of "$kind"
            } | psql -X -q -d "$DB" -v "q=$q" 2>&1
        } >"$RESULTS/explain-$kind-$name.txt"
        # Execution time: the median of RUNS runs in one warm session, without per-node timing.
        exec_ms[$kind]=$(
            {
                echo "\\o /dev/null"; sql_of "$kind"; echo "\\o"
                for _ in $(seq 1 "$RUNS"); do echo "EXPLAIN (ANALYZE, TIMING OFF)"; sql_of "$kind"; done
            } | psql -X -q -At -d "$DB" -v "q=$q" | awk '/Execution Time/ {print $3}' | median)
        sql_of "$kind" >"$WORK/pgbench-$kind.sql"
    done
    # pgbench, one client: ROUNDS rounds, the kinds alternating, the median latency kept.
    declare -A lats=()
    for _ in $(seq 1 "$ROUNDS"); do
        for kind in $KINDS; do
            lats[$kind]+="$(pgbench -n -c1 -j1 -T"$DURATION" -f "$WORK/pgbench-$kind.sql" -D "q=$q" "$DB" 2>&1 |
                awk '/latency average/ {print $4}') "
        done
    done
    for kind in $KINDS; do lat[$kind]=$(tr ' ' '\n' <<<"${lats[$kind]}" | grep . | median); done
    ratio=$(awk -v a="${exec_ms[relevance]}" -v b="${exec_ms[default]}" -v c="${lat[relevance]}" -v d="${lat[default]}" \
        'BEGIN {printf "%.1fx exec, %.1fx pgbench", a / b, c / d}')
    printf '%-14s %7s | %-32s | %-32s | %-32s | %-32s | %s\n' "$word" "$matches" \
        "${exec_ms[relevance]} ms exec, ${lat[relevance]} ms pgbench" \
        "${exec_ms[default]} ms exec, ${lat[default]} ms pgbench" \
        "${exec_ms[whole]} ms exec, ${lat[whole]} ms pgbench" \
        "${exec_ms[ids]} ms exec, ${lat[ids]} ms pgbench" "$ratio" >>"$SUMMARY"
    log "$word done"
    unset exec_ms lat lats
done
echo "# load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores (shared)" >>"$SUMMARY"
cat "$SUMMARY"
