#!/usr/bin/env bash
# The benchmark of the public catalogue (issue 3), end to end and reproducible:
#   fresh database -> release server -> demo data -> N generated offers through the staff API
#   -> wrk on each public endpoint -> pgbench on the SQL each endpoint runs -> counts vs pages
#   -> EXPLAIN (ANALYZE, BUFFERS) -> bench/results/summary.md
#
#   CARGO_TARGET_DIR=/work/target-bench cargo build --release   # once, beforehand
#   bench/run.sh
#
# Knobs (environment): N (10000), DURATION (20s), CONNECTIONS (16), THREADS (2),
# BENCH_DB (passerelle_bench), PG_HOST/PG_PORT/PG_USER (127.0.0.1/5432/postgres),
# PORT (18080), PASSERELLE_BIN, BENCH_WORK (/tmp/passerelle-bench), BENCH_RESULTS
# (bench/results), SKIP_LOAD=1 (reuse the database of an earlier run: no drop, no load).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
RESULTS=${BENCH_RESULTS:-$HERE/results}
SQL=$HERE/sql
BIN=${PASSERELLE_BIN:-/work/target-bench/release/passerelle}
N=${N:-10000}
DURATION=${DURATION:-20s}
CONNECTIONS=${CONNECTIONS:-16}
THREADS=${THREADS:-2}
DB=${BENCH_DB:-passerelle_bench}
PG_HOST=${PG_HOST:-127.0.0.1}
PG_PORT=${PG_PORT:-5432}
PG_USER=${PG_USER:-postgres}
PORT=${PORT:-18080}
BASE=http://127.0.0.1:$PORT
WORK=${BENCH_WORK:-/tmp/passerelle-bench}

export PGHOST=$PG_HOST PGPORT=$PG_PORT PGUSER=$PG_USER
export DATABASE_URL=postgres://$PG_USER@$PG_HOST:$PG_PORT/$DB
export JWT_SECRET=${JWT_SECRET:-passerelle-bench-secret-0123456789abcdef}
export ACCESS_TOKEN_TTL_SECONDS=3600
export LISTEN_ADDR=127.0.0.1:$PORT
export PUBLIC_BASE_URL=$BASE
export RUST_LOG=warn

for tool in wrk pgbench psql curl python3; do
    command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install -y wrk postgresql-client curl python3)" >&2; exit 1; }
done
[ -x "$BIN" ] || { echo "no $BIN: CARGO_TARGET_DIR=/work/target-bench cargo build --release" >&2; exit 1; }

mkdir -p "$WORK" "$RESULTS"
log() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

# --- database and server --------------------------------------------------------------------
if [ "${SKIP_LOAD:-0}" != 1 ]; then
    log "fresh database $DB on $PG_HOST:$PG_PORT"
    psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
fi

log "starting $BIN serve on $LISTEN_ADDR"
"$BIN" serve >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
trap 'kill $SERVER_PID 2>/dev/null || true; wait $SERVER_PID 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do
    curl -fsS "$BASE/health/ready" >/dev/null 2>&1 && break
    kill -0 $SERVER_PID 2>/dev/null || { cat "$WORK/server.log" >&2; exit 1; }
    sleep 0.5
done
curl -fsS "$BASE/health/ready" >/dev/null

if [ "${SKIP_LOAD:-0}" != 1 ]; then
    log "seed-demo"
    "$BIN" seed-demo >"$WORK/seed.log" 2>&1
    log "generating $N offers"
    python3 "$HERE/generate_offers.py" -n "$N" -o "$WORK/offers.json"
    log "loading them through POST /api/v1/staff/offers + /publish"
    python3 "$HERE/load.py" --url "$BASE" --offers "$WORK/offers.json" --concurrency 8 | tee "$RESULTS/load.txt"
    # A steady state, as autovacuum would reach soon after a bulk load: statistics and the
    # visibility map (index-only scans for counts).
    psql -X -q -d "$DB" -c "VACUUM ANALYZE offers" -c "VACUUM ANALYZE catalog_version"
fi

# --- the URLs and the literal values of their SQL -------------------------------------------
log "resolving the benchmark URLs (deep cursor, department, slug)"
python3 - "$BASE" "$WORK/params.env" <<'PY'
import base64, datetime as dt, json, sys, urllib.parse, urllib.request
base, out = sys.argv[1], sys.argv[2]
def get(path):
    with urllib.request.urlopen(base + path) as r:
        return json.load(r)
def lit(s):
    return "'" + s.replace("'", "''") + "'"
page, path = get("/api/v1/offers?limit=20"), None
total = page["total"]
for _ in range(50):  # follow next_cursor 50 pages deep: the URL of page 51
    if not page["next_cursor"]:
        break  # a small catalogue (N < 1000): its last page
    path = "/api/v1/offers?limit=20&cursor=" + page["next_cursor"]
    page = get(path)
cursor = path.rsplit("=", 1)[1]
raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
kind, micros, uuid = raw.split("|")
at = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(microseconds=int(micros))
department = "Direction de la Culture"
slug = get("/api/v1/offers?limit=20&department=" + urllib.parse.quote(department))["items"][7]["slug"]
vals = {
    "TOTAL": str(total),
    "URL_FIRST": "/api/v1/offers",
    "URL_DEEP": path,
    "URL_DEPARTMENT": "/api/v1/offers?department=" + urllib.parse.quote(department),
    "URL_Q1": "/api/v1/offers?q=" + urllib.parse.quote("coopération"),
    "URL_Q2": "/api/v1/offers?q=" + urllib.parse.quote("numérique"),
    "URL_Q3": "/api/v1/offers?q=" + urllib.parse.quote("Tiznit"),
    "URL_SLUG": "/api/v1/offers/" + slug,
    "CURSOR_AT": lit(at.isoformat()),
    "CURSOR_ID": lit(uuid),
    "DEPARTMENT": lit(department),
    "Q1": lit("coopération"),
    "Q2": lit("numérique"),
    "Q3": lit("Tiznit"),
    "SLUG": lit(slug),
}
with open(out, "w") as f:
    for k, v in vals.items():
        f.write(f"{k}={json.dumps(v, ensure_ascii=False)}\n")
PY
# shellcheck disable=SC1091
. "$WORK/params.env"
cp "$WORK/params.env" "$RESULTS/params.env"
log "published offers: $TOTAL"

# --- measurements ---------------------------------------------------------------------------
# pgbench variables as the SQL files name them (a quoted literal each).
PGVARS=(-D "cursor_at=$CURSOR_AT" -D "cursor_id=$CURSOR_ID" -D "department=$DEPARTMENT" -D "slug=$SLUG")

http() { # name path [connections]
    local name=$1 path=$2 c=${3:-$CONNECTIONS}
    curl -fsS -o /dev/null "$BASE$path"   # warm-up: fills the count cache of this filter
    curl -fsS -o /dev/null "$BASE$path"
    log "wrk $name: $path"
    { echo "# $(date -u +%FT%TZ) wrk -t$THREADS -c$c -d$DURATION --latency $BASE$path"
      wrk -t"$THREADS" -c"$c" -d"$DURATION" --latency "$BASE$path"; } >"$RESULTS/wrk-$name.txt"
    grep -E 'Requests/sec|^ +(50|99)%|Non-2xx|Socket errors' "$RESULTS/wrk-$name.txt" >&2 || true
}

pg() { # name sql-files... [-- extra pgbench args]
    local name=$1; shift
    local script=$WORK/pgbench-$name.sql extra=()
    : >"$script"
    while [ $# -gt 0 ]; do
        if [ "$1" = "--" ]; then shift; extra=("$@"); break; fi
        grep -v '^--' "$SQL/$1" >>"$script"; shift
    done
    cp "$script" "$RESULTS/pgbench-$name.sql"
    log "pgbench $name"
    { echo "# $(date -u +%FT%TZ) pgbench -n -c$CONNECTIONS -j$THREADS -T${DURATION%s} -f pgbench-$name.sql ${extra[*]} $DB"
      pgbench -n -c"$CONNECTIONS" -j"$THREADS" -T"${DURATION%s}" -f "$script" "${PGVARS[@]}" "${extra[@]}" "$DB" 2>&1; } \
        >"$RESULTS/pgbench-$name.txt"
    grep -E '^tps|latency average' "$RESULTS/pgbench-$name.txt" >&2 || true
}

http first "$URL_FIRST"
pg first catalog_version.sql page_first.sql
http deep "$URL_DEEP"
pg deep catalog_version.sql page_deep.sql
http department "$URL_DEPARTMENT"
pg department catalog_version.sql page_department.sql
http search-cooperation "$URL_Q1"
pg search-cooperation catalog_version.sql page_search.sql -- -D "q=$Q1"
http search-numerique "$URL_Q2"
pg search-numerique catalog_version.sql page_search.sql -- -D "q=$Q2"
http search-tiznit "$URL_Q3"
pg search-tiznit catalog_version.sql page_search.sql -- -D "q=$Q3"
http search-relevance "$URL_Q1&sort=relevance"
pg search-relevance catalog_version.sql page_search_relevance.sql -- -D "q=$Q1"
http slug "$URL_SLUG"
pg slug offer_by_slug.sql
# Latency when the machine is not saturated: 4 connections instead of 16.
http search-cooperation-c4 "$URL_Q1" 4
# What a separate catalog_version round trip costs: the same page with the version read
# inside the page query (a proposed change, not what the service runs).
pg first-one-statement page_first_with_version.sql

# The exact count a cache miss adds, against the page query alone.
pg page-only-first page_first.sql
pg count-all count_all.sql
pg page-only-department page_department.sql
pg count-department count_department.sql
pg page-only-cooperation page_search.sql -- -D "q=$Q1"
pg count-cooperation count_search.sql -- -D "q=$Q1"

# --- plans and the summary --------------------------------------------------------------------
log "EXPLAIN (ANALYZE, BUFFERS)"
BENCH_DB=$DB BENCH_RESULTS=$RESULTS "$HERE/explain.sh" >/dev/null
python3 "$HERE/summarize.py" "$RESULTS" >"$RESULTS/summary.md"
cat "$RESULTS/summary.md"
