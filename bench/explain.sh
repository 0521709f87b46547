#!/usr/bin/env bash
# EXPLAIN (ANALYZE, BUFFERS) of every query the public catalogue runs, on the benchmark
# database loaded by bench/run.sh, with the literal values of bench/results/params.env.
# Writes bench/results/explain-<name>.txt and prints them all.
#
#   bench/explain.sh                   # BENCH_DB=passerelle_bench on 127.0.0.1:5432
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
RESULTS=${BENCH_RESULTS:-$HERE/results}
SQL=$HERE/sql
DB=${BENCH_DB:-passerelle_bench}
export PGHOST=${PG_HOST:-127.0.0.1} PGPORT=${PG_PORT:-5432} PGUSER=${PG_USER:-postgres}
PARAMS=${PARAMS:-$RESULTS/params.env}
[ -f "$PARAMS" ] || { echo "no $PARAMS: run bench/run.sh first" >&2; exit 1; }
# shellcheck disable=SC1090
. "$PARAMS"

explain() { # name sql-file [psql -v assignments...]
    local name=$1 file=$2; shift 2
    local out=$RESULTS/explain-$name.txt
    {
        echo "-- $name: EXPLAIN (ANALYZE, BUFFERS) of bench/sql/$file on $DB ($(date -u +%F))"
        for v in "$@"; do echo "-- \\set ${v%%=*} ${v#*=}"; done
        {
            # Once to warm the cache, then the run that is kept.
            echo "\\o /dev/null"
            echo "EXPLAIN (ANALYZE, BUFFERS)"; grep -v '^--' "$SQL/$file"
            echo "\\o"
            echo "EXPLAIN (ANALYZE, BUFFERS)"; grep -v '^--' "$SQL/$file"
        } | psql -X -q -d "$DB" "${@/#/-v}" 2>&1
    } >"$out"
    cat "$out"
    echo
}

explain page-first page_first.sql
explain page-deep page_deep.sql "cursor_at=$CURSOR_AT" "cursor_id=$CURSOR_ID"
explain page-department page_department.sql "department=$DEPARTMENT"
explain page-search-cooperation page_search.sql "q=$Q1"
explain page-search-numerique page_search.sql "q=$Q2"
explain page-search-tiznit page_search.sql "q=$Q3"
explain page-search-relevance-cooperation page_search_relevance.sql "q=$Q1"
explain offer-by-slug offer_by_slug.sql "slug=$SLUG"
explain count-all count_all.sql
explain count-department count_department.sql "department=$DEPARTMENT"
explain count-search-cooperation count_search.sql "q=$Q1"
explain count-search-tiznit count_search.sql "q=$Q3"
explain catalog-version catalog_version.sql
explain page-first-with-version page_first_with_version.sql
# The staff write path, for the record: the slug look-up of every create (model.rs unique_slug).
explain create-unique-slug unique_slug.sql
