#!/usr/bin/env bash
# Measures two changes proposed in docs/PERFORMANCE.md on a scratch copy of the benchmark
# database (nothing in the service changes): ranking sort=relevance on a small vector, and a
# text_pattern_ops index for the slug look-up of creates. Needs no server running on
# passerelle_bench (CREATE DATABASE ... TEMPLATE needs it idle). Writes
# bench/results/experiments.txt.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
RESULTS=${BENCH_RESULTS:-$HERE/results}
DB=${BENCH_DB:-passerelle_bench}
EXP=${DB}_exp
export PGHOST=${PG_HOST:-127.0.0.1} PGPORT=${PG_PORT:-5432} PGUSER=${PG_USER:-postgres}
psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $EXP" -c "CREATE DATABASE $EXP TEMPLATE $DB"
trap 'psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $EXP"' EXIT
{
echo "# $(date -u +%FT%TZ) scratch copy $EXP of $DB; dropped afterwards"
psql -X -e -d "$EXP" <<'SQL'
-- 1. sort=relevance: rank a small vector with the A and B parts of offers_search_document()
--    (title; tags, department, fields of study) instead of the whole document.
ALTER TABLE offers ADD COLUMN search_head tsvector;
UPDATE offers SET search_head =
    setweight(to_tsvector('passerelle_fr', title), 'A') ||
    setweight(to_tsvector('passerelle_fr',
        coalesce((SELECT string_agg(t, ' ') FROM jsonb_array_elements_text(tags) t), '')
        || ' ' || department || ' ' ||
        coalesce((SELECT string_agg(f, ' ') FROM jsonb_array_elements_text(fields_of_study) f), '')), 'B');
VACUUM ANALYZE offers;
SELECT avg(pg_column_size(search))::int AS search_bytes, avg(pg_column_size(search_head))::int AS search_head_bytes FROM offers;
\o /dev/null
EXPLAIN ANALYZE SELECT offers.id, slug, reference, title, organization, department, summary, contract_type, duration_months_min, duration_months_max, work_time_percent, paid, hourly_gratification_cents, starts_from, ends_by, remote, location, application_documents, application_deadline, tags, status, published_at, ts_rank(search, query) AS rank FROM offers CROSS JOIN websearch_to_tsquery('passerelle_fr', 'coopération') AS query WHERE status = 'published' AND search @@ query ORDER BY rank DESC, offers.id DESC LIMIT 21;
\o
-- as the service ranks today
EXPLAIN (ANALYZE, BUFFERS) SELECT offers.id, slug, reference, title, organization, department, summary, contract_type, duration_months_min, duration_months_max, work_time_percent, paid, hourly_gratification_cents, starts_from, ends_by, remote, location, application_documents, application_deadline, tags, status, published_at, ts_rank(search, query) AS rank FROM offers CROSS JOIN websearch_to_tsquery('passerelle_fr', 'coopération') AS query WHERE status = 'published' AND search @@ query ORDER BY rank DESC, offers.id DESC LIMIT 21;
-- proposed: filter with search (GIN), rank with search_head
EXPLAIN (ANALYZE, BUFFERS) SELECT offers.id, slug, reference, title, organization, department, summary, contract_type, duration_months_min, duration_months_max, work_time_percent, paid, hourly_gratification_cents, starts_from, ends_by, remote, location, application_documents, application_deadline, tags, status, published_at, ts_rank(search_head, query) AS rank FROM offers CROSS JOIN websearch_to_tsquery('passerelle_fr', 'coopération') AS query WHERE status = 'published' AND search @@ query ORDER BY rank DESC, offers.id DESC LIMIT 21;
-- 2. unique_slug on create: the database collation (C.UTF-8) is not C for PostgreSQL 15, so
--    LIKE 'base-%' cannot use offers_slug_key; a text_pattern_ops index can.
EXPLAIN (ANALYZE, BUFFERS) SELECT offers.slug FROM offers WHERE ((offers.slug = 'stage-communication-d-un-equipement-culturel' OR offers.slug LIKE 'stage-communication-d-un-equipement-culturel-%') AND offers.id != '00000000-0000-0000-0000-000000000000');
CREATE INDEX offers_slug_pattern_idx ON offers (slug text_pattern_ops);
EXPLAIN (ANALYZE, BUFFERS) SELECT offers.slug FROM offers WHERE ((offers.slug = 'stage-communication-d-un-equipement-culturel' OR offers.slug LIKE 'stage-communication-d-un-equipement-culturel-%') AND offers.id != '00000000-0000-0000-0000-000000000000');
SQL
} >"$RESULTS/experiments.txt" 2>&1
grep -E 'Execution Time|bytes|^ +[0-9]+ +\|' "$RESULTS/experiments.txt"
