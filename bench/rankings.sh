#!/usr/bin/env bash
# The ranking benchmark (issue 5): a manager lists an offer's 500 applications, 3 reviews
# each, by score (sort=-score) and by date (the default), 100 per page.
#
#   fresh passerelle_bench_rankings -> release server -> seed-demo -> 2 more reviewers
#   (passerelle staff create) -> bench/sql/rankings_seed.sql: 3 reviewers assigned to one
#   offer, 5 weighted criteria, 500 applications with 2 documents each, 1,500 reviews
#   -> check one page of each sort -> wrk on both -> pgbench on the ranking SQL alone
#   -> document blocks read during the runs (pg_statio) -> SQL statements of ONE request of
#   each sort (log_statement = 'all' on this database, then reset) -> EXPLAIN (ANALYZE, BUFFERS)
#   -> bench/results/rankings/summary.txt
#
#   CARGO_TARGET_DIR=/work/target-bench cargo build --release   # once, beforehand
#   bench/rankings.sh
#
# Knobs (environment): N (500), DOC_KIB (128), DURATION (20s), CONNECTIONS (16), THREADS (2),
# BENCH_DB (passerelle_bench_rankings), PG_LOG (the PostgreSQL server log; found by
# pg_current_logfile() or under /var/log/postgresql), PORT, BENCH_RESULTS
# (bench/results/rankings).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
RESULTS=${BENCH_RESULTS:-$HERE/results/rankings}
SQL=$HERE/sql
DB=${BENCH_DB:-passerelle_bench_rankings}
N=${N:-500}
DOC_KIB=${DOC_KIB:-128}
DURATION=${DURATION:-20s}
CONNECTIONS=${CONNECTIONS:-16}
THREADS=${THREADS:-2}
BENCH_WORK=${BENCH_WORK:-/tmp/passerelle-bench-rankings}
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"
export JOB_WORKERS=0
unset SMTP_HOST

need_tools wrk pgbench psql curl python3
mkdir -p "$RESULTS"
SUMMARY=$RESULTS/summary.txt

fresh_db
start_server
seed_demo

# --- reviewers and data -----------------------------------------------------------------------
REVIEWERS=reviewer@demo.passerelle.example,relectrice.deux@bench.passerelle.example,relecteur.trois@bench.passerelle.example
for who in "relectrice.deux Relectrice Deux" "relecteur.trois Relecteur Trois"; do
    read -r local first last <<<"$who"
    echo "ranking-bench-passphrase-$RANDOM$RANDOM" |
        "$BIN" staff create --email "$local@bench.passerelle.example" --name "$first $last" --role reviewer \
        >>"$WORK/seed.log" 2>&1
done
OFFER_ID=$(curl -fsS "$BASE/api/v1/offers?limit=1" | python3 -c 'import json, sys; print(json.load(sys.stdin)["items"][0]["id"])')
log "offer $OFFER_ID: $N applications, 2 x $DOC_KIB KiB documents each, 3 reviewers, 5 criteria, 3 reviews each"
psql -X -q -d "$DB" -v offer_id="'$OFFER_ID'" -v reviewers="'$REVIEWERS'" -v n="$N" -v doc_kib="$DOC_KIB" \
    -f "$SQL/rankings_seed.sql" | tee "$RESULTS/seed.txt"

TOKEN=$(manager_token)
AUTH="Authorization: Bearer $TOKEN"
URL_SCORE="$BASE/api/v1/staff/offers/$OFFER_ID/applications?sort=-score&limit=100"
URL_DEFAULT="$BASE/api/v1/staff/offers/$OFFER_ID/applications?limit=100"

# --- what the pages hold ----------------------------------------------------------------------
log "checking one page of each sort"
for u in "$URL_SCORE" "$URL_DEFAULT"; do curl -fsS -H "$AUTH" "$u"; echo; done >"$WORK/pages.json"
python3 - "$WORK/pages.json" <<'PY' | tee "$RESULTS/pages-check.txt"
import json, sys
pages = [json.loads(line) for line in open(sys.argv[1])]
for name, page in zip(["sort=-score", "default sort"], pages):
    items = page["items"]
    means = [i["review_stats"]["weighted_mean"] for i in items]
    counts = {i["review_stats"]["reviews"] for i in items}
    size = len(json.dumps(page))
    assert not any("content" in i or "documents" in i for i in items)
    print(f"{name}: {len(items)} items of {page['total']}, reviews per item {sorted(counts)}, "
          f"means {means[0]:.3f} .. {means[-1]:.3f}, next_cursor {'yes' if page['next_cursor'] else 'no'}, "
          f"body {size} bytes")
    if name == "sort=-score":
        assert means == sorted(means, reverse=True), "not sorted by weighted mean"
PY

# --- throughput ---------------------------------------------------------------------------------
statio() {
    psql -X -At -F ' ' -d "$DB" -c "SELECT coalesce(heap_blks_read, 0) + coalesce(heap_blks_hit, 0),
        coalesce(toast_blks_read, 0) + coalesce(toast_blks_hit, 0)
        FROM pg_statio_user_tables WHERE relname = 'application_documents'"
}
read -r docs_heap0 docs_toast0 < <(statio)

http() { # name url
    curl -fsS -o /dev/null -H "$AUTH" "$2"
    log "wrk $1: $2"
    { echo "# $(date -u +%FT%TZ) wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency -H 'Authorization: Bearer …' $2"
      wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -H "$AUTH" "$2"; } >"$RESULTS/wrk-$1.txt"
    grep -E 'Requests/sec|^ +(50|99)%|Non-2xx|Socket errors' "$RESULTS/wrk-$1.txt" >&2 || true
}
http score "$URL_SCORE"
http default "$URL_DEFAULT"

# The ranking query alone, as the database runs it (pgbench, simple protocol).
IDS=$(psql -X -At -d "$DB" -c "SELECT '''{' || string_agg(id::text, ',' ORDER BY created_at DESC, id DESC) || '}'''
    FROM (SELECT id, created_at FROM applications WHERE offer_id = '$OFFER_ID' AND erased_at IS NULL
          ORDER BY created_at DESC, id DESC LIMIT 101) p")
pg() { # name sql-file
    grep -v '^--' "$SQL/$2" >"$RESULTS/pgbench-$1.sql"
    log "pgbench $1"
    { echo "# $(date -u +%FT%TZ) pgbench -n -c$CONNECTIONS -j$THREADS -T${DURATION%s} -f pgbench-$1.sql $DB"
      pgbench -n -c"$CONNECTIONS" -j"$THREADS" -T"${DURATION%s}" -f "$RESULTS/pgbench-$1.sql" \
          -D "offer_id='$OFFER_ID'" -D "ids=$IDS" "$DB" 2>&1; } >"$RESULTS/pgbench-$1.txt"
    grep -E '^tps|latency average' "$RESULTS/pgbench-$1.txt" >&2 || true
}
pg ranking ranking_score.sql
pg stats-for ranking_stats_for.sql

# Backends flush their table statistics when they exit: stop the server before reading them.
kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true
sleep 1
read -r docs_heap1 docs_toast1 < <(statio)

# --- statements per request -------------------------------------------------------------------
PG_LOG=${PG_LOG:-$(psql -X -At -d postgres -c "SELECT pg_current_logfile()")}
if [ -z "$PG_LOG" ]; then
    # logging_collector off: the Debian wrapper sends stderr to /var/log/postgresql.
    PG_LOG=$(ls -t /var/log/postgresql/postgresql-*.log | head -1)
else
    PG_LOG=$(psql -X -At -d postgres -c "SHOW data_directory")/$PG_LOG
fi
log "statements per request, from $PG_LOG"
psql -X -q -d postgres -c "ALTER DATABASE $DB SET log_statement = 'all'"
# Settings of a database apply to new sessions: a new server, so a new pool.
trap 'psql -X -q -d postgres -c "ALTER DATABASE $DB RESET log_statement" || true; kill $SERVER_PID 2>/dev/null || true' EXIT
start_server
trap 'psql -X -q -d postgres -c "ALTER DATABASE $DB RESET log_statement" || true; kill $SERVER_PID 2>/dev/null || true; wait $SERVER_PID 2>/dev/null || true' EXIT
for _ in 1 2 3; do curl -fsS -o /dev/null -H "$AUTH" "$URL_DEFAULT"; done   # open pool connections
count_statements() { # name url
    sleep 1
    local from; from=$(stat -c %s "$PG_LOG")
    curl -fsS -o /dev/null -H "$AUTH" "$2"
    sleep 1
    # One "LOG:  statement:" or "LOG:  execute <name>:" line per statement; "DETAIL:
    # parameters:" lines follow. Only this database's sessions, psql's own excepted.
    tail -c +"$((from + 1))" "$PG_LOG" | grep -E "@$DB .*LOG:  (statement|execute)|@$DB .*DETAIL:  parameters" \
        >"$RESULTS/statements-$1.log" || true
    grep -cE 'LOG:  (statement|execute)' "$RESULTS/statements-$1.log" || true
}
STMTS_SCORE=$(count_statements score "$URL_SCORE")
STMTS_DEFAULT=$(count_statements default "$URL_DEFAULT")
psql -X -q -d postgres -c "ALTER DATABASE $DB RESET log_statement"
log "statements: sort=-score $STMTS_SCORE, default $STMTS_DEFAULT ($RESULTS/statements-*.log)"

# --- plans ------------------------------------------------------------------------------------
explain() { # name sql-file
    {
        echo "-- $1: EXPLAIN (ANALYZE, BUFFERS) of bench/sql/$2 on $DB ($(date -u +%F)), offer $OFFER_ID"
        {
            echo "\\o /dev/null"
            echo "EXPLAIN (ANALYZE, BUFFERS)"; grep -v '^--' "$SQL/$2"
            echo "\\o"
            echo "EXPLAIN (ANALYZE, BUFFERS)"; grep -v '^--' "$SQL/$2"
        } | psql -X -q -d "$DB" -v offer_id="'$OFFER_ID'" -v ids="$IDS" 2>&1
    } >"$RESULTS/explain-$1.txt"
}
explain ranking ranking_score.sql
explain stats-for ranking_stats_for.sql
# The queries before commit 59be383, on the same data, for comparison (if kept).
[ -f "$SQL/ranking_score_ee9f2c3.sql" ] && explain ranking-ee9f2c3 ranking_score_ee9f2c3.sql
[ -f "$SQL/ranking_stats_for_ee9f2c3.sql" ] && explain stats-for-ee9f2c3 ranking_stats_for_ee9f2c3.sql

# --- summary ----------------------------------------------------------------------------------
ms() { grep -E '^ *Execution Time' "$RESULTS/explain-$1.txt" | awk '{print $3}'; }
{
    echo "# bench/rankings.sh, $(date -u +%FT%TZ), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "data: offer $OFFER_ID, $N applications, 3 reviewers assigned, 5 criteria, 3 reviews per application, 2 documents of $DOC_KIB KiB per application"
    echo "server: WORKERS=${WORKERS:-nproc}, DATABASE_POOL_SIZE=${DATABASE_POOL_SIZE:-16 (default)}, JOB_WORKERS=0, caller: the demo manager"
    cat "$RESULTS/pages-check.txt"
    echo
    echo "sort=-score&limit=100, wrk -c$CONNECTIONS -d$DURATION: $(wrk_line <"$RESULTS/wrk-score.txt")"
    echo "default sort, limit=100, wrk -c$CONNECTIONS -d$DURATION: $(wrk_line <"$RESULTS/wrk-default.txt")"
    echo "pgbench, ranking query alone: $(grep -E '^tps' "$RESULTS/pgbench-ranking.txt"), $(grep 'latency average' "$RESULTS/pgbench-ranking.txt")"
    echo "pgbench, stats_for alone: $(grep -E '^tps' "$RESULTS/pgbench-stats-for.txt"), $(grep 'latency average' "$RESULTS/pgbench-stats-for.txt")"
    echo "application_documents blocks touched during the checks, wrk and pgbench: heap $((docs_heap1 - docs_heap0)), toast $((docs_toast1 - docs_toast0))"
    echo "SQL statements for one request: sort=-score $STMTS_SCORE, default sort $STMTS_DEFAULT"
    echo "EXPLAIN ANALYZE execution time: ranking $(ms ranking) ms, stats_for $(ms stats-for) ms"
    [ -f "$RESULTS/explain-ranking-ee9f2c3.txt" ] &&
        echo "EXPLAIN ANALYZE execution time of the queries before 59be383, same data: ranking $(ms ranking-ee9f2c3) ms, stats_for $(ms stats-for-ee9f2c3) ms"
    echo "shared buffers (top node): ranking $(grep -m1 Buffers "$RESULTS/explain-ranking.txt" | sed 's/^ *//'), stats_for $(grep -m1 Buffers "$RESULTS/explain-stats-for.txt" | sed 's/^ *//')"
} >"$SUMMARY"
cat "$SUMMARY"
