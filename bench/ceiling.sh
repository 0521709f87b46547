#!/usr/bin/env bash
# The public read path against the HTTP ceiling of the machine (issue 15), in one command:
#
#   release build of passerelle and of examples/hello_json.rs (actix-web answering a small
#   JSON body from memory: the ceiling) -> fresh database -> seed-demo -> N generated offers
#   through the staff API (bench/generate_offers.py, deterministic) -> wrk on the ceiling and
#   on each public endpoint -> a table of req/s, p50/p99 and the ratio to the ceiling
#   (bench/results/ceiling/table.md).
#
#   bench/ceiling.sh                       # the real measurement: a quiet machine
#   DURATION=3s N=2000 bench/ceiling.sh    # a smoke run
#
# Rows: detail by slug, the same with If-None-Match (304), list first page, a deep page
# (DEEP_PAGES cursors down), search with one word, with several and with a rare one,
# relevance; the server's RSS after the runs.
# The passerelle binary is built with the example, so with the dev-dependencies' features
# (`test-support`: test databases and settings, no change to what `serve` does).
# Every rate limit is on with a limit no run reaches (LIMITER=off turns reads and search off).
#
# Knobs (environment): N (10000), DURATION (10s), CONNECTIONS (64), SEARCH_CONNECTIONS (16),
# THREADS (2), WORKERS (number of CPUs, for both servers), DEEP_PAGES (40), LIMITER (on),
# NO_BUILD=1 (use the binaries already in $CARGO_TARGET_DIR), SKIP_LOAD=1 (reuse the database
# of an earlier run), BENCH_DB (passerelle_bench_ceiling), PORT (18080), HELLO_PORT (18090),
# PG_HOST/PG_PORT/PG_USER, BENCH_RESULTS (bench/results/ceiling).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
RESULTS=${BENCH_RESULTS:-$HERE/results/ceiling}
DB=${BENCH_DB:-passerelle_bench_ceiling}
N=${N:-10000}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-64}
SEARCH_CONNECTIONS=${SEARCH_CONNECTIONS:-16}
THREADS=${THREADS:-2}
DEEP_PAGES=${DEEP_PAGES:-40}
LIMITER=${LIMITER:-on}
HELLO_PORT=${HELLO_PORT:-18090}
BENCH_WORK=${BENCH_WORK:-/tmp/passerelle-bench-ceiling}
export WORKERS=${WORKERS:-$(nproc)}

if [ "${NO_BUILD:-0}" != 1 ]; then
    echo "[$(date -u +%H:%M:%S)] cargo build --release --bin passerelle --example hello_json" >&2
    (cd "$ROOT" && CARGO_TARGET_DIR=$TARGET cargo build -q --release --bin passerelle --example hello_json)
fi
export PASSERELLE_BIN=$TARGET/release/passerelle
HELLO=$TARGET/release/examples/hello_json
[ -x "$HELLO" ] || { echo "no $HELLO: cargo build --release --example hello_json" >&2; exit 1; }

# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"
export JOB_WORKERS=0
unset SMTP_HOST
if [ "$LIMITER" = on ]; then
    export READS_RATE_LIMIT=1000000000 SEARCH_RATE_LIMIT=1000000000
else
    export READS_RATE_LIMIT=0 SEARCH_RATE_LIMIT=0
fi

need_tools wrk psql curl python3
mkdir -p "$RESULTS"

load_or_reuse "$RESULTS/load.txt"

log "resolving the URLs (slug and its ETag, page $((DEEP_PAGES + 1)))"
python3 - "$BASE" "$DEEP_PAGES" "$WORK/urls.env" <<'PY'
import json, sys, urllib.parse, urllib.request
base, deep, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
def get(path):
    with urllib.request.urlopen(base + path) as r:
        return json.load(r), r.headers
first, _ = get("/api/v1/offers?limit=20")
page, path = first, "/api/v1/offers?limit=20"
for _ in range(deep):
    if not page["next_cursor"]:
        break  # a small catalogue: its last page
    path = "/api/v1/offers?limit=20&cursor=" + page["next_cursor"]
    page, _ = get(path)
slug = first["items"][7]["slug"]
_, headers = get("/api/v1/offers/" + slug)
q = urllib.parse.quote
vals = {
    "TOTAL": str(first["total"]),
    "URL_DETAIL": "/api/v1/offers/" + slug,
    "ETAG": headers["ETag"],
    "URL_FIRST": "/api/v1/offers",
    "URL_DEEP": path,
    "URL_Q1": "/api/v1/offers?q=" + q("coopération"),
    "URL_Q2": "/api/v1/offers?q=" + q("participation citoyenne"),
    "URL_REL": "/api/v1/offers?q=" + q("coopération") + "&sort=relevance",
    "URL_RARE": "/api/v1/offers?q=" + q("Tiznit"),
}
with open(out, "w") as f:
    for k, v in vals.items():
        f.write(f"{k}={json.dumps(v, ensure_ascii=False)}\n")
PY
# shellcheck disable=SC1091
. "$WORK/urls.env"

log "starting $HELLO on 127.0.0.1:$HELLO_PORT ($WORKERS workers)"
LISTEN_ADDR=127.0.0.1:$HELLO_PORT "$HELLO" >"$WORK/hello.log" 2>&1 &
HELLO_PID=$!
trap 'kill $SERVER_PID $HELLO_PID 2>/dev/null || true; wait $SERVER_PID $HELLO_PID 2>/dev/null || true' EXIT
until curl -fsS -o /dev/null "http://127.0.0.1:$HELLO_PORT/" 2>/dev/null; do sleep 0.2; done

TABLE=$RESULTS/table.md
ROWS=$WORK/rows.txt
: >"$ROWS"

# measure file name connections url [header]: one wrk run (wrk-<file>.txt); appends
# "name|c|rps|p50|p99|non2xx".
measure() {
    local file=$1 name=$2 c=$3 url=$4 header=${5:-} args=() out
    [ -n "$header" ] && args=(-H "$header")
    curl -fsS -o /dev/null "${args[@]}" "$url" || true   # warm-up (count caches)
    out=$RESULTS/wrk-$file.txt
    log "wrk $name: -c$c -d$DURATION $url ${header:+($header)}"
    { echo "# $(date -u +%FT%TZ) wrk -t$THREADS -c$c -d$DURATION --latency ${header:+-H '$header'} $url"
      wrk -t"$THREADS" -c"$c" -d"$DURATION" --latency "${args[@]}" "$url"; } >"$out"
    awk -v name="$name" -v c="$c" '
        /Requests\/sec/ {rps=$2}
        $1=="50%" {p50=$2} $1=="99%" {p99=$2}
        /Non-2xx/ {non=$NF}
        END {printf "%s|%s|%s|%s|%s|%s\n", name, c, rps, p50, p99, (non==""?0:non)}' "$out" >>"$ROWS"
}

measure hello "hello JSON (the ceiling)" "$CONNECTIONS" "http://127.0.0.1:$HELLO_PORT/"
measure detail "GET /api/v1/offers/{slug}" "$CONNECTIONS" "$BASE$URL_DETAIL"
measure detail-304 "the same, If-None-Match (304)" "$CONNECTIONS" "$BASE$URL_DETAIL" "If-None-Match: $ETAG"
measure first "list, first page" "$CONNECTIONS" "$BASE$URL_FIRST"
measure deep "list, page $((DEEP_PAGES + 1))" "$CONNECTIONS" "$BASE$URL_DEEP"
measure search-one "search q=coopération" "$SEARCH_CONNECTIONS" "$BASE$URL_Q1"
measure search-two "search q=participation citoyenne" "$SEARCH_CONNECTIONS" "$BASE$URL_Q2"
measure search-rare "search q=Tiznit (a rare word)" "$SEARCH_CONNECTIONS" "$BASE$URL_RARE"
measure relevance "q=coopération&sort=relevance" "$SEARCH_CONNECTIONS" "$BASE$URL_REL"
read -r RSS_KB HWM_KB < <(rss_of "$SERVER_PID")

{
    echo "# $(date -u +%FT%TZ) bench/ceiling.sh: $TOTAL published offers, wrk -t$THREADS -d$DURATION, WORKERS=$WORKERS, $(nproc) CPUs, limiter $LIMITER, commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?'), server RSS after the runs $((RSS_KB / 1024)) MiB (peak $((HWM_KB / 1024)) MiB)"
    echo
    echo "| endpoint | connections | req/s | p50 / p99 | of the ceiling | non-2xx/3xx |"
    echo "|---|---:|---:|---:|---:|---:|"
    python3 - "$ROWS" <<'PY'
import sys
rows = [l.rstrip("\n").split("|") for l in open(sys.argv[1]) if l.strip()]
def ms(v):
    for unit, f in (("us", 0.001), ("ms", 1.0), ("s", 1000.0)):
        if v.endswith(unit):
            return float(v[: -len(unit)]) * f
    return float("nan")
ceiling = float(rows[0][2] or "nan")
for name, c, rps, p50, p99, non in rows:
    r = float(rps or "nan")
    print(f"| {name} | {c} | {r:,.0f} | {ms(p50):.2f} / {ms(p99):.2f} ms | {100 * r / ceiling:.1f} % | {non} |")
PY
} >"$TABLE"
cat "$TABLE"
