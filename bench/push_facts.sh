#!/bin/sh
# The team database with facts written at push, against the file
# (docs/performance.md, issue 22). Run from the repository's root, the
# release binary built, around a throwaway cluster:
#
#   cargo build --release -p traceflow-cli
#   python3 ../shared/tools/gen_tfl_db.py h1.db --traces 1000000 --seed 1
#   python3 ../shared/tools/gen_tfl_db.py new1k.db --traces 1000 --seed 99 \
#       --start 2027-06-01T00:00:00+00:00
#   cargo run --release -p traceflow-testkit --bin with-postgres -- \
#       sh bench/push_facts.sh h1.db new1k.db
#
# It adds new1k.db's rows to the first store: run it on a copy.
set -e
store=$1
more=$2
bin=target/release/traceflow
db=$TRACEFLOW_TEST_PG_ADMIN
$bin db init --db "$db" > /dev/null
/usr/bin/time -f "full push: %e s, %M KB" $bin push --from "$store" --to "$db" > /dev/null
/usr/bin/time -f "unchanged re-push: %e s, %M KB" $bin push --from "$store" --to "$db" > /dev/null
sqlite3 "$store" "ATTACH '$more' AS n; INSERT INTO traces SELECT * FROM n.traces; \
  INSERT INTO trace_steps (trace_id, step_seq, node_name, input_json, output_json, tokens, \
  latency_ms, cost_usd, error, cache_hit, created_at, updated_db_at) SELECT trace_id, step_seq, \
  node_name, input_json, output_json, tokens, latency_ms, cost_usd, error, cache_hit, created_at, \
  updated_db_at FROM n.trace_steps; INSERT INTO trace_evals (trace_id, step_seq, decision, \
  reasons_json, scores_json, revision_instructions, created_at, updated_db_at) SELECT trace_id, \
  step_seq, decision, reasons_json, scores_json, revision_instructions, created_at, updated_db_at \
  FROM n.trace_evals;"
/usr/bin/time -f "push of the new traces: %e s, %M KB" $bin push --from "$store" --to "$db" > /dev/null
out=$(mktemp -d)
/usr/bin/time -f "trend --window all on the database: %e s, %M KB" $bin trend --db "$db" --window all > "$out/db"
/usr/bin/time -f "trend --window all on the file: %e s, %M KB" $bin trend --db "$store" --window all > "$out/file"
cmp "$out/db" "$out/file" && echo "the two trends are identical"
rm -r "$out"
