#!/usr/bin/env bash
# The upload benchmark (issue 4): candidates applying with two ~2 MiB PDFs at 32 concurrent
# connections, and the server's memory while they do; then oversized uploads refused.
#
#   fresh passerelle_bench_uploads -> release server (JOB_WORKERS=0, SMTP unset) -> seed-demo
#   -> a published offer that asks for a cover letter -> deterministic PDFs (bench/make_pdf.py)
#   -> one check request -> wrk -c32 with bench/uploads.lua (a new email per request), RSS
#   sampled every 0.2 s; before it, 6 MiB CVs (must get 413) and uploads that stall half-way
#   (bench/stalled_uploads.py); after it, a shorter run at 64 connections
#   -> bench/results/uploads/summary.txt
#
#   CARGO_TARGET_DIR=/work/target-bench cargo build --release   # once, beforehand
#   bench/uploads.sh
#
# Knobs (environment): DURATION (40s), CONNECTIONS (32), THREADS (2), DOC_BYTES (2097152),
# OVERSIZE_BYTES (6291456), OVERSIZE_REQUESTS (96), MORE_CONNECTIONS (64; 0: skip the run that
# shows how peak memory grows with connections), MORE_DURATION (15s), STALLED_CONNECTIONS (32;
# 0: skip the uploads that stop sending), STALLED_HOLD (30 seconds), STALLED_UPLOAD_TIMEOUT
# (UPLOAD_TIMEOUT_SECONDS of the server during the stalled check only; unset: the server's
# default, 60 s), BENCH_DB (passerelle_bench_uploads),
# WORKERS (2), PORT, PG_HOST/PG_PORT/PG_USER, BENCH_RESULTS (bench/results/uploads).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
RESULTS=${BENCH_RESULTS:-$HERE/results/uploads}
DB=${BENCH_DB:-passerelle_bench_uploads}
DURATION=${DURATION:-40s}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}
DOC_BYTES=${DOC_BYTES:-2097152}
OVERSIZE_BYTES=${OVERSIZE_BYTES:-6291456}
OVERSIZE_REQUESTS=${OVERSIZE_REQUESTS:-96}
MORE_CONNECTIONS=${MORE_CONNECTIONS:-64}
MORE_DURATION=${MORE_DURATION:-15s}
STALLED_CONNECTIONS=${STALLED_CONNECTIONS:-32}
STALLED_HOLD=${STALLED_HOLD:-30}
BENCH_WORK=${BENCH_WORK:-/tmp/passerelle-bench-uploads}
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"

# Mail stays out of the measurement: no job worker in this instance (the submission mails are
# queued in `jobs` by the apply transaction, as always, and left there), and no SMTP server.
export JOB_WORKERS=0
# wrk opens every connection from one address: the per-address upload cap (2) is off here.
export UPLOAD_CONCURRENCY_PER_ADDRESS=0
unset SMTP_HOST SMTP_PORT SMTP_USERNAME SMTP_PASSWORD
export WORKERS=${WORKERS:-2}

need_tools wrk psql curl python3
mkdir -p "$RESULTS"
SUMMARY=$RESULTS/summary.txt

fresh_db
: >"$WORK/server-all.log"
start_server
seed_demo

# --- the offer and the documents ------------------------------------------------------------
log "choosing a published offer that asks for a cover letter"
read -r OFFER_ID OFFER_REF OFFER_DOCS < <(python3 - "$BASE" <<'PY'
import json, sys, urllib.request
base = sys.argv[1]
items = json.load(urllib.request.urlopen(base + "/api/v1/offers?limit=100"))["items"]
for card in sorted(items, key=lambda c: c["reference"] if "reference" in c else c["id"]):
    offer = json.load(urllib.request.urlopen(base + "/api/v1/offers/" + card["slug"]))
    docs = offer["application"]["documents"]
    if "cover_letter" in docs:
        print(offer["id"], offer.get("reference", offer["slug"]), ",".join(docs))
        break
else:
    sys.exit("no published offer asks for a cover letter")
PY
)
APPLY_PATH=/api/v1/offers/$OFFER_ID/applications
log "offer $OFFER_REF ($OFFER_ID), documents: $OFFER_DOCS"

CV=$WORK/cv.pdf LETTER=$WORK/letter.pdf BIG=$WORK/cv-6mib.pdf
python3 "$HERE/make_pdf.py" --size "$DOC_BYTES" --seed 1 --text "CV de Camille Bench" -o "$CV"
python3 "$HERE/make_pdf.py" --size "$DOC_BYTES" --seed 2 --text "Lettre de motivation" -o "$LETTER"
python3 "$HERE/make_pdf.py" --size "$OVERSIZE_BYTES" --seed 3 --text "CV trop lourd" -o "$BIG"

form=(-F first_name=Camille -F last_name=Bench -F education_level=master_1
      -F "school=Université Grenoble Alpes" -F "field_of_study=Politiques publiques"
      -F available_from=2027-03-01 -F available_until=2027-08-31 -F consent_privacy=true
      -F privacy_notice_version=2026-11 -F source=bench)
# curl -F sends "Expect: 100-continue" for large bodies; browsers do not.
apply() { # email cv-file [letter-file] -> "status seconds"
    local letter=()
    [ -n "${3:-}" ] && letter=(-F "cover_letter=@$3;type=application/pdf;filename=lettre.pdf")
    curl -sS -o "$WORK/last-response.json" -w '%{http_code} %{time_total}\n' -H 'Expect:' \
        "${form[@]}" -F "email=$1" -F "cv=@$2;type=application/pdf;filename=cv.pdf" "${letter[@]}" \
        "$BASE$APPLY_PATH" || echo "000 0"
}

log "one application with curl (must be 201)"
read -r status secs < <(apply "check-$(date +%s)@example.org" "$CV" "$LETTER")
[ "$status" = 201 ] || { echo "check request: $status"; cat "$WORK/last-response.json"; exit 1; } >&2
log "201 in ${secs}s"

# --- oversized uploads: 413, and what they cost in memory (first, on a fresh server) ---------
log "$OVERSIZE_REQUESTS applications with a $OVERSIZE_BYTES-byte CV, $CONNECTIONS at a time (must be 413)"
read -r rss_big_before hwm_big_before < <(rss_of "$SERVER_PID")
sampler=$(start_rss_sampler "$SERVER_PID" "$RESULTS/rss-oversize.txt")
export -f apply
export BASE APPLY_PATH WORK BIG
form_decl=$(declare -p form)
started=$(date +%s%3N)
seq 1 "$OVERSIZE_REQUESTS" | xargs -P "$CONNECTIONS" -I{} bash -c "$form_decl; apply big-{}-\$\$@example.org \"\$BIG\"" \
    >"$RESULTS/oversize-statuses.txt"
elapsed_ms=$(( $(date +%s%3N) - started ))
sleep 1
kill "$sampler" 2>/dev/null || true
read -r rss_big_after hwm_big_after < <(rss_of "$SERVER_PID")
big_statuses=$(awk '{c[$1]++} END {for (s in c) printf "%s=%d ", s, c[s]}' "$RESULTS/oversize-statuses.txt")
big_p50=$(awk '{print $2}' "$RESULTS/oversize-statuses.txt" | sort -n | awk '{a[NR]=$1} END {print a[int(NR*0.5)+1]}')
big_max=$(awk '{print $2}' "$RESULTS/oversize-statuses.txt" | sort -n | tail -1)
curl -sS -o "$RESULTS/oversize-response.json" -H 'Expect:' "${form[@]}" -F "email=big-one@example.org" \
    -F "cv=@$BIG;type=application/pdf;filename=cv.pdf" "$BASE$APPLY_PATH" || true
big_rows=$(psql -X -At -d "$DB" -c "SELECT count(*) FROM applications WHERE email LIKE 'big-%'")

# --- stalled uploads: what clients that stop sending hold in memory ---------------------------
if [ "$STALLED_CONNECTIONS" -gt 0 ]; then
    saved_timeout=${UPLOAD_TIMEOUT_SECONDS-unset}
    [ -n "${STALLED_UPLOAD_TIMEOUT:-}" ] && export UPLOAD_TIMEOUT_SECONDS=$STALLED_UPLOAD_TIMEOUT
    restart_server
    if [ "$saved_timeout" = unset ]; then unset UPLOAD_TIMEOUT_SECONDS; else export UPLOAD_TIMEOUT_SECONDS=$saved_timeout; fi
    log "$STALLED_CONNECTIONS uploads that stop after 4.5 MiB of cv, held ${STALLED_HOLD}s (server UPLOAD_TIMEOUT_SECONDS=${STALLED_UPLOAD_TIMEOUT:-default})"
    read -r rss_stall_before hwm_stall_before < <(rss_of "$SERVER_PID")
    sampler=$(start_rss_sampler "$SERVER_PID" "$RESULTS/rss-stalled.txt")
    python3 "$HERE/stalled_uploads.py" --url "$BASE$APPLY_PATH" --connections "$STALLED_CONNECTIONS" \
        --hold "$STALLED_HOLD" >"$RESULTS/stalled.txt" 2>&1 &
    stalled_pid=$!
    sleep "$((STALLED_HOLD > 3 ? STALLED_HOLD - 2 : 1))"
    read -r rss_stall_late _ < <(rss_of "$SERVER_PID")   # near the end of the hold, clients still connected
    wait "$stalled_pid"
    sleep 1
    kill "$sampler" 2>/dev/null || true
    read -r rss_stall_after hwm_stall_after < <(rss_of "$SERVER_PID")
    rss_stall_held=$(awk '$2>m {m=$2} END {print m}' "$RESULTS/rss-stalled.txt")
    cat "$RESULTS/stalled.txt" >&2
fi

# --- 32 concurrent uploads --------------------------------------------------------------------
restart_server
curl -fsS -o /dev/null "$BASE/api/v1/offers"   # a warm pool, as in production
sleep 2
log "load average $(cut -d' ' -f1-3 /proc/loadavg)"
read -r rss_before hwm_before < <(rss_of "$SERVER_PID")
cpu_before=$(cpu_of "$SERVER_PID"); busy_before=$(busy_cpu)
sampler=$(start_rss_sampler "$SERVER_PID" "$RESULTS/rss-uploads.txt")
log "wrk -t$THREADS -c$CONNECTIONS -d$DURATION: POST $APPLY_PATH (cv + cover_letter, $DOC_BYTES bytes each)"
{ echo "# $(date -u +%FT%TZ) wrk -t$THREADS -c$CONNECTIONS -d$DURATION --timeout 60s --latency -s bench/uploads.lua $BASE$APPLY_PATH"
  echo "# JOB_WORKERS=$JOB_WORKERS, SMTP unset, WORKERS=$WORKERS, offer $OFFER_REF, documents $OFFER_DOCS"
  APPLY_PATH=$APPLY_PATH CV_PDF=$CV LETTER_PDF=$LETTER RUN_TAG=$(date +%s) \
      wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --timeout 60s --latency -s "$HERE/uploads.lua" "$BASE$APPLY_PATH"
} >"$RESULTS/wrk-uploads.txt" 2>&1
cpu_after=$(cpu_of "$SERVER_PID"); busy_after=$(busy_cpu)
sleep 1
kill "$sampler" 2>/dev/null || true
read -r rss_end hwm_after < <(rss_of "$SERVER_PID")
sleep 5
read -r rss_after _ < <(rss_of "$SERVER_PID")
grep -E 'Requests/sec|^ +(50|99)%|Non-2xx|Socket errors|statuses|201 per' "$RESULTS/wrk-uploads.txt" >&2 || true
peak_sampled=$(awk '$2>m {m=$2} END {print m}' "$RESULTS/rss-uploads.txt")

stored=$(psql -X -At -F ' ' -d "$DB" -c "
    SELECT count(DISTINCT a.id), count(d.id), coalesce(sum(d.size), 0),
           replace(pg_size_pretty(pg_total_relation_size('application_documents')), ' ', ''),
           (SELECT count(*) FROM jobs)
    FROM applications a LEFT JOIN application_documents d ON d.application_id = a.id
    WHERE a.offer_id = '$OFFER_ID'")
read -r n_apps n_docs doc_bytes docs_table_size n_jobs <<<"$stored"

# --- more connections: how peak memory grows with uploads in flight --------------------------
if [ "$MORE_CONNECTIONS" -gt 0 ]; then
    log "wrk -c$MORE_CONNECTIONS -d$MORE_DURATION: peak RSS with more uploads in flight"
    { echo "# $(date -u +%FT%TZ) wrk -t$THREADS -c$MORE_CONNECTIONS -d$MORE_DURATION --timeout 60s --latency -s bench/uploads.lua $BASE$APPLY_PATH"
      APPLY_PATH=$APPLY_PATH CV_PDF=$CV LETTER_PDF=$LETTER RUN_TAG=more$(date +%s) \
          wrk -t"$THREADS" -c"$MORE_CONNECTIONS" -d"$MORE_DURATION" --timeout 60s --latency -s "$HERE/uploads.lua" "$BASE$APPLY_PATH"
    } >"$RESULTS/wrk-uploads-c$MORE_CONNECTIONS.txt" 2>&1
    sleep 2
    read -r _ hwm_more < <(rss_of "$SERVER_PID")
fi

cat "$WORK/server-all.log" "$WORK/server.log" >"$RESULTS/server.log" 2>/dev/null || true

# --- summary ----------------------------------------------------------------------------------
{
    echo "# bench/uploads.sh, $(date -u +%FT%TZ), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "offer: $OFFER_REF ($OFFER_ID), documents $OFFER_DOCS; each request: cv + cover_letter of $DOC_BYTES bytes"
    echo "server: WORKERS=$WORKERS, DATABASE_POOL_SIZE=${DATABASE_POOL_SIZE:-16 (default)}, UPLOAD_CONCURRENCY=${UPLOAD_CONCURRENCY:-16 (default)}, UPLOAD_TIMEOUT_SECONDS=${UPLOAD_TIMEOUT_SECONDS:-60 (default)}, JOB_WORKERS=0, SMTP unset, RUST_LOG=$RUST_LOG"
    echo
    echo "uploads, wrk -t$THREADS -c$CONNECTIONS -d$DURATION (on a new server process):"
    echo "  $(wrk_line <"$RESULTS/wrk-uploads.txt")"
    echo "  $(grep '^statuses' "$RESULTS/wrk-uploads.txt")"
    echo "  $(grep '^201 per second' "$RESULTS/wrk-uploads.txt")"
    echo "  stored for the offer: $n_apps applications, $n_docs documents, $doc_bytes document bytes; application_documents $docs_table_size on disk; $n_jobs jobs queued"
    echo "  CPU: server $(( (cpu_after - cpu_before) * 1000 / $(getconf CLK_TCK) )) ms, whole machine $(( (busy_after - busy_before) * 1000 / $(getconf CLK_TCK) )) ms busy (of $(nproc) cores x the run)"
    echo "  server RSS: before $((rss_before / 1024)) MiB, peak $((hwm_after / 1024)) MiB (VmHWM; sampled max $((peak_sampled / 1024)) MiB), at the end $((rss_end / 1024)) MiB, 5 s later $((rss_after / 1024)) MiB"
    if [ "$MORE_CONNECTIONS" -gt 0 ]; then
        echo
        echo "uploads, wrk -t$THREADS -c$MORE_CONNECTIONS -d$MORE_DURATION (right after, same server):"
        echo "  $(wrk_line <"$RESULTS/wrk-uploads-c$MORE_CONNECTIONS.txt")"
        echo "  $(grep '^statuses' "$RESULTS/wrk-uploads-c$MORE_CONNECTIONS.txt")"
        echo "  server peak RSS (VmHWM) after it: $((hwm_more / 1024)) MiB"
    fi
    echo
    echo "oversized (run first, on the fresh server, after the one check request): $OVERSIZE_REQUESTS applications with a $OVERSIZE_BYTES-byte cv, $CONNECTIONS at a time, in ${elapsed_ms} ms:"
    echo "  statuses: $big_statuses (000 = curl error); time per request p50 ${big_p50}s, max ${big_max}s; applications stored: $big_rows"
    echo "  server RSS: before $((rss_big_before / 1024)) MiB, after $((rss_big_after / 1024)) MiB, VmHWM $((hwm_big_before / 1024)) -> $((hwm_big_after / 1024)) MiB"
    echo "  answer: $(head -c 400 "$RESULTS/oversize-response.json")"
    if [ "$STALLED_CONNECTIONS" -gt 0 ]; then
        echo
        echo "stalled (run second, on a new server process, UPLOAD_TIMEOUT_SECONDS=${STALLED_UPLOAD_TIMEOUT:-default}, UPLOAD_CONCURRENCY=${UPLOAD_CONCURRENCY:-default}): $STALLED_CONNECTIONS connections send the fields and 4.5 MiB of cv, then nothing for ${STALLED_HOLD}s:"
        sed 's/^/  /' "$RESULTS/stalled.txt"
        echo "  server RSS: before $((rss_stall_before / 1024)) MiB, highest while held $((rss_stall_held / 1024)) MiB, $((STALLED_HOLD > 3 ? STALLED_HOLD - 2 : 1)) s in (clients still connected) $((rss_stall_late / 1024)) MiB, after the clients closed $((rss_stall_after / 1024)) MiB"
    fi
} >"$SUMMARY"
cat "$SUMMARY"
