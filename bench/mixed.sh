#!/usr/bin/env bash
# The mixed load (issue 7): browsing, searching, applying and staff work at the same time,
# for DURATION (10 minutes), against one release server; errors counted, p99 of each part,
# the server's memory sampled every 5 s.
#
#   fresh passerelle_bench_mixed -> release server (rate limits off, JOB_WORKERS=1, SMTP
#   unset: emails go to the outbox table) -> seed-demo -> N generated offers through the staff API
#   -> 200 applications to one offer (what staff will read) -> four wrk at once:
#        browse  -c${BROWSE_C}  lists, filters, single offers by slug
#        search  -c${SEARCH_C}  full-text search
#        staff   -c${STAFF_C}   staff offer list, applications of an offer, application reads
#        apply   -c${APPLY_C}   a 20 KB CV each, one per DELAY_MS per connection
#   -> bench/results/mixed/summary.txt (and rss.txt: "seconds rss-kB hwm-kB")
#
#   CARGO_TARGET_DIR=/work/target-bench cargo build --release   # once, beforehand
#   bench/mixed.sh
#
# Knobs: DURATION (10m), N (2000), BROWSE_C (8), SEARCH_C (4), STAFF_C (2), APPLY_C (2),
# DELAY_MS (250), BENCH_DB (passerelle_bench_mixed), WORKERS (2), PORT, PG_HOST/PG_PORT/PG_USER,
# BENCH_RESULTS (bench/results/mixed).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
RESULTS=${BENCH_RESULTS:-$HERE/results/mixed}
DB=${BENCH_DB:-passerelle_bench_mixed}
DURATION=${DURATION:-10m}
N=${N:-2000}
BROWSE_C=${BROWSE_C:-8}
SEARCH_C=${SEARCH_C:-4}
STAFF_C=${STAFF_C:-2}
APPLY_C=${APPLY_C:-2}
export DELAY_MS=${DELAY_MS:-250}
BENCH_WORK=${BENCH_WORK:-/tmp/passerelle-bench-mixed}
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"

export JOB_WORKERS=1 WORKERS=${WORKERS:-2}
unset SMTP_HOST SMTP_PORT SMTP_USERNAME SMTP_PASSWORD
# The load comes from one address: the public rate limits would measure themselves.
export READS_RATE_LIMIT=0 SEARCH_RATE_LIMIT=0 APPLY_RATE_LIMIT=0 LOGIN_RATE_LIMIT=0

need_tools wrk psql curl python3
mkdir -p "$RESULTS"
SUMMARY=$RESULTS/summary.txt

fresh_db
start_server
seed_demo
log "generating and loading $N offers"
python3 "$HERE/generate_offers.py" -n "$N" -o "$WORK/offers.json"
python3 "$HERE/load.py" --url "$BASE" --offers "$WORK/offers.json" --concurrency 8 >"$WORK/load.txt"
psql -X -q -d "$DB" -c "VACUUM ANALYZE"

TOKEN=$(manager_token)
export TOKEN
# An offer that asks for a CV only (the load sends no cover letter).
OFFER_ID=$(python3 - "$BASE" <<'PY'
import json, sys, urllib.request
base = sys.argv[1]
for card in json.load(urllib.request.urlopen(base + "/api/v1/offers?limit=100"))["items"]:
    offer = json.load(urllib.request.urlopen(base + "/api/v1/offers/" + card["slug"]))
    if offer["application"]["documents"] == ["cv"]:
        print(offer["id"])
        break
else:
    sys.exit("no published offer asks for a CV only")
PY
)
export OFFER_ID
curl -fsS "$BASE/api/v1/offers?limit=100" |
    python3 -c 'import json,sys; [print(i["slug"]) for i in json.load(sys.stdin)["items"]]' >"$WORK/slugs.txt"
export SLUGS_FILE=$WORK/slugs.txt
python3 "$HERE/make_pdf.py" --size 20000 --seed 7 --text "CV de Camille Mixte" -o "$WORK/cv.pdf"
export CV_PDF=$WORK/cv.pdf

log "200 applications to $OFFER_ID, for staff to read"
for i in $(seq 1 200); do
    curl -fsS -o /dev/null "$BASE/api/v1/offers/$OFFER_ID/applications" \
        -F first_name=Camille -F last_name="Mixte $i" -F "email=seed-$i@bench.example" \
        -F education_level=master_1 -F school=UGA -F field_of_study=droit \
        -F available_from=2027-03-01 -F available_until=2027-08-31 -F consent_privacy=true \
        -F privacy_notice_version=2026-11 -F "cv=@$CV_PDF;type=application/pdf"
done
curl -fsS -H "Authorization: Bearer $TOKEN" "$BASE/api/v1/staff/offers/$OFFER_ID/applications?limit=100" |
    python3 -c 'import json,sys; [print(i["id"]) for i in json.load(sys.stdin)["items"]]' >"$WORK/apps.txt"
export APPLICATION_IDS_FILE=$WORK/apps.txt

# The token must outlive the run: ACCESS_TOKEN_TTL_SECONDS=3600 in lib.sh (10 minutes here).
log "mixed load for $DURATION"
export RUN_TAG=$(date +%s)
: >"$RESULTS/rss.txt"
start=$(date +%s)
(
    while kill -0 "$SERVER_PID" 2>/dev/null; do
        printf '%s %s\n' "$(( $(date +%s) - start ))" "$(rss_of "$SERVER_PID")"
        sleep 5
    done
) >>"$RESULTS/rss.txt" &
SAMPLER=$!
pids=()
for part in browse:$BROWSE_C search:$SEARCH_C staff:$STAFF_C apply:$APPLY_C; do
    name=${part%%:*} c=${part##*:}
    MIX=$name wrk -t1 -c"$c" -d"$DURATION" --timeout 10s --latency -s "$HERE/mixed.lua" "$BASE" \
        >"$RESULTS/$name.txt" 2>&1 &
    pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
kill "$SAMPLER" 2>/dev/null || true

{
    echo "# bench/mixed.sh, $(date -u +%Y-%m-%dT%H:%MZ), $(git -C "$HERE/.." rev-parse --short HEAD 2>/dev/null)"
    echo "# $N offers, 200 seeded applications; DURATION=$DURATION; WORKERS=$WORKERS; $(nproc) CPUs"
    for name in browse search staff apply; do
        printf '%-7s %s\n' "$name" "$(wrk_line <"$RESULTS/$name.txt")"
        { grep '^status ' "$RESULTS/$name.txt" || echo 'no status counted'; } | sed 's/^/        /'
    done
    awk 'NR==1 {first=$2} {last=$2; if ($2>max) max=$2} NR==13 {warm=$2}
         END {printf "rss kB: at start %s, after 1 min %s, at end %s, max %s (samples every 5 s)\n", first, warm, last, max}' \
        "$RESULTS/rss.txt"
    printf 'applications now: %s\n' "$(psql -X -At -d "$DB" -c 'SELECT count(*) FROM applications')"
    printf 'server log lines at ERROR: %s\n' "$(grep -c ' ERROR ' "$WORK/server.log" || true)"
} | tee "$SUMMARY"
