#!/usr/bin/env bash
# The ranking queries the service runs against the rewrites proposed in docs/PERFORMANCE.md,
# on the database bench/rankings.sh loaded (read only). For each pair: the same rows?, then
# pgbench -c1 -T5, alternated twice (the machine is shared and noisy), then EXPLAIN ANALYZE.
# Writes bench/results/rankings/experiments.txt.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
RESULTS=${BENCH_RESULTS:-$HERE/results/rankings}
SQL=$HERE/sql
DB=${BENCH_DB:-passerelle_bench_rankings}
export PGHOST=${PG_HOST:-127.0.0.1} PGPORT=${PG_PORT:-5432} PGUSER=${PG_USER:-postgres}
OFFER_ID=$(psql -X -At -d "$DB" -c "SELECT offer_id FROM offer_reviewers GROUP BY offer_id ORDER BY count(*) DESC LIMIT 1")
IDS=$(psql -X -At -d "$DB" -c "SELECT '''{' || string_agg(id::text, ',' ORDER BY created_at DESC, id DESC) || '}'''
    FROM (SELECT id, created_at FROM applications WHERE offer_id = '$OFFER_ID' AND erased_at IS NULL
          ORDER BY created_at DESC, id DESC LIMIT 101) p")
out=$RESULTS/experiments.txt
rows() { grep -v '^--' "$SQL/$1.sql" | psql -X -At -d "$DB" -v offer_id="'$OFFER_ID'" -v ids="$IDS" | cut -d'|' -f1,2 | sort | md5sum | cut -c1-12; }
bench() {
    grep -v '^--' "$SQL/$1.sql" >"/tmp/rankings-exp-$1"
    pgbench -n -c1 -T5 -f "/tmp/rankings-exp-$1" -D "offer_id='$OFFER_ID'" -D "ids=$IDS" "$DB" 2>&1 |
        awk '/latency average/ {l=$4} /^tps/ {t=$3} END {printf "%s ms, %s TPS", l, t}'
}
plan() {
    { echo "EXPLAIN (ANALYZE, BUFFERS)"; grep -v '^--' "$SQL/$1.sql"; } |
        psql -X -At -d "$DB" -v offer_id="'$OFFER_ID'" -v ids="$IDS" | grep -E 'Execution Time|^Limit|^Hash Left Join|^Hash Right Join|^Nested Loop' | head -2 |
        sed 's/ (cost=[^)]*)//' | tr '\n' ' '
}
{
    echo "# $(date -u +%FT%TZ) bench/rankings_experiments.sh on $DB, offer $OFFER_ID, load average $(cut -d' ' -f1-3 /proc/loadavg)"
    for pair in "ranking_score ranking_score_proposed" "ranking_stats_for ranking_stats_for_proposed"; do
        read -r now proposed <<<"$pair"
        echo
        echo "$now.sql (service) vs $proposed.sql (proposed); rows (id, review count) digest: $(rows "$now") vs $(rows "$proposed")"
        for round in 1 2; do
            echo "  round $round: service $(bench "$now"); proposed $(bench "$proposed")"
        done
        echo "  EXPLAIN ANALYZE: service: $(plan "$now")"
        echo "                   proposed: $(plan "$proposed")"
        echo "  shared buffers hit: service $({ echo "EXPLAIN (ANALYZE, BUFFERS)"; grep -v '^--' "$SQL/$now.sql"; } | psql -X -At -d "$DB" -v offer_id="'$OFFER_ID'" -v ids="$IDS" | grep -m1 'Buffers' | sed 's/^ *//'), proposed $({ echo "EXPLAIN (ANALYZE, BUFFERS)"; grep -v '^--' "$SQL/$proposed.sql"; } | psql -X -At -d "$DB" -v offer_id="'$OFFER_ID'" -v ids="$IDS" | grep -m1 'Buffers' | sed 's/^ *//')"
    done
} >"$out"
cat "$out"
