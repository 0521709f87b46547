# Helpers shared by bench/uploads.sh and bench/rankings.sh (sourced, not run). The same
# conventions as bench/run.sh: a release server on 127.0.0.1:$PORT against a database of the
# machine's PostgreSQL, RUST_LOG=warn, a fixed JWT secret, tokens that last an hour.
#
# Before sourcing, set DB (the database). Knobs: PG_HOST/PG_PORT/PG_USER
# (127.0.0.1/5432/postgres), PORT (18080), PASSERELLE_BIN, BENCH_WORK.

BIN=${PASSERELLE_BIN:-/work/target-bench/release/passerelle}
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
export RUST_LOG=${RUST_LOG:-warn}

mkdir -p "$WORK"
log() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

need_tools() {
    for tool in "$@"; do
        command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install -y wrk postgresql-client curl python3)" >&2; exit 1; }
    done
    [ -x "$BIN" ] || { echo "no $BIN: CARGO_TARGET_DIR=/work/target-bench cargo build --release" >&2; exit 1; }
}

fresh_db() {
    log "fresh database $DB on $PG_HOST:$PG_PORT"
    psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
}

# Starts the server in the background (SERVER_PID), waits for /health/ready, and stops it
# on exit. Environment variables set by the caller (JOB_WORKERS, WORKERS, ...) pass through.
start_server() {
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
}

seed_demo() {
    log "seed-demo"
    "$BIN" seed-demo >"$WORK/seed.log" 2>&1
}

# An access token of the demo manager (prints it).
manager_token() {
    curl -fsS "$BASE/api/v1/auth/login" -H 'content-type: application/json' \
        -d '{"email":"manager@demo.passerelle.example","password":"demo-manager-passphrase"}' |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])'
}

# "VmRSS VmHWM" of a process, in kB.
rss_of() {
    awk '/^VmRSS:/ {r=$2} /^VmHWM:/ {h=$2} END {print r, h}' "/proc/$1/status"
}

# Samples VmRSS and VmHWM of pid $1 every 0.2 s into file $2 ("epoch-ms rss-kB hwm-kB"
# per line) until killed. Prints its own pid.
start_rss_sampler() {
    local pid=$1 out=$2
    (
        while kill -0 "$pid" 2>/dev/null; do
            printf '%s %s\n' "$(date +%s%3N)" "$(rss_of "$pid")"
            sleep 0.2
        done
    ) >"$out" &
    echo $!
}

# Summary line of a wrk output on stdin: req/s, p50, p90, p99, max, non-2xx, socket errors.
wrk_line() {
    awk '
        /Requests\/sec/ {rps=$2}
        $1=="50%" {p50=$2} $1=="90%" {p90=$2} $1=="99%" {p99=$2}
        $1=="Latency" && NF>=4 {max=$4}
        /Non-2xx/ {non2xx=$NF}
        /Socket errors/ {sock=$0; sub(/^ *Socket errors: */, "", sock)}
        /requests in/ {n=$1}
        END {printf "%s requests, %s req/s, p50 %s, p90 %s, p99 %s, max %s, non-2xx %s, socket errors: %s\n",
             n, rps, p50, p90, p99, max, (non2xx==""?0:non2xx), (sock==""?"none":sock)}'
}

# CPU time of a process (user + system), in clock ticks.
cpu_of() {
    awk '{print $14 + $15}' "/proc/$1/stat"
}

# Busy CPU time of the whole machine (all but idle and iowait), in clock ticks.
busy_cpu() {
    awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9}' /proc/stat
}

# Stops the server and starts a new one (a fresh process: memory figures start from zero).
restart_server() {
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    cat "$WORK/server.log" >>"$WORK/server-all.log"
    start_server
}

# A fresh database with the demo data and N generated offers loaded through the staff API,
# vacuumed to a steady state; or, with SKIP_LOAD=1, the database of an earlier run. Starts
# the server either way. Writes the load report to $1.
load_or_reuse() {
    if [ "${SKIP_LOAD:-0}" != 1 ]; then
        fresh_db
        start_server
        seed_demo
        log "generating $N offers"
        python3 "$HERE/generate_offers.py" -n "$N" -o "$WORK/offers.json"
        log "loading them through POST /api/v1/staff/offers + /publish"
        python3 "$HERE/load.py" --url "$BASE" --offers "$WORK/offers.json" --concurrency 8 | tee "$1"
        psql -X -q -d "$DB" -c "VACUUM ANALYZE offers" -c "VACUUM ANALYZE catalog_version"
    else
        start_server
    fi
}
