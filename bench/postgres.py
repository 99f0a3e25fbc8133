#!/usr/bin/env python3
"""The team database, measured against its floor (issue 12, item 8).

Pushes several 1M-trace `gen_tfl_db.py` stores into one fresh PostgreSQL
database and measures, in one run, interleaved, medians of --rounds:

- push of the first store (rows per second) against `psql \\copy` of the
  same rows into tables of the same shape (the rows dumped to CSV first,
  untimed);
- an unchanged re-push (rows sent, seconds);
- after each store, `trace flow trend --window all` against its floor: psql
  running the same two queries (`examples/pg_sql.rs` prints them) with its
  rows to /dev/null; peak RSS of traceflow (GNU time's %M);
- at the largest size, `trend --group-by day --all-metrics --segment-by
  model` against its queries' floor;
- a push of 1,000 new traces (a store of its own) into the full database.

Usage (a throwaway cluster around it, the release binary built):

    cargo build --release -p traceflow-cli --example pg_sql -p traceflow
    cargo run --release -p traceflow-testkit --bin with-postgres -- \
        python3 bench/postgres.py --stores /data/h1.db /data/h2.db ... > out.json

The admin URL comes from $TRACEFLOW_TEST_PG (a role that may create
databases), or any server's; the database `tf_bench` is dropped and made
again.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / "target/release/traceflow"
PG_SQL = ROOT / "target/release/examples/pg_sql"
GEN = ROOT.parent / "shared/tools/gen_tfl_db.py"


def with_db(url, name):
    base, _, query = url.partition("?")
    head, _, _ = base.rpartition("/")
    return f"{head}/{name}" + (f"?{query}" if query else "")


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)


def timed(cmd, **kw):
    """Seconds and peak RSS (MB) of a command, its output discarded."""
    start = time.perf_counter()
    out = subprocess.run(
        ["/usr/bin/time", "-f", "%M"] + cmd,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        **kw,
    )
    seconds = time.perf_counter() - start
    rss_kb = int(out.stderr.strip().splitlines()[-1])
    return seconds, rss_kb / 1024


def psql(url, *args, **kw):
    return run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", url, *args], **kw)


def sqlite_count(store, table):
    return int(run(["sqlite3", f"file:{store}?immutable=1", f"SELECT count(*) FROM {table}"]).stdout)


def drop(admin, name):
    """Drops a database; an autovacuum worker on it can be ended only by a
    superuser, so $TRACEFLOW_TEST_PG_ADMIN (with-postgres sets it) is asked
    when the role cannot."""
    try:
        psql(admin, "-c", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    except subprocess.CalledProcessError:
        superuser = os.environ.get("TRACEFLOW_TEST_PG_ADMIN")
        if not superuser:
            raise
        psql(superuser, "-c", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def fresh(admin, name):
    drop(admin, name)
    psql(admin, "-c", f"CREATE DATABASE {name}")
    return with_db(admin, name)


def floor_sql(*kinds):
    """The SQL a trend asks (heads, facts), from examples/pg_sql."""
    return [run([str(PG_SQL), *kind]).stdout for kind in kinds]


def psql_floor(url, queries):
    """psql running the queries, rows to /dev/null: seconds."""
    start = time.perf_counter()
    for sql in queries:
        subprocess.run(
            ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-o", "/dev/null", url, "-c", sql],
            check=True,
        )
    return time.perf_counter() - start


COPY_TABLES = {
    "traces": (
        "trace_id, status, mode, user_input, config_json, model, provider, final_answer, "
        "error, created_at, finished_at"
    ),
    "trace_steps": (
        "trace_id, step_seq, node_name, input_json, output_json, tokens, latency_ms, "
        "cost_usd, error, cache_hit, created_at"
    ),
    "trace_evals": (
        "trace_id, step_seq, decision, reasons_json, scores_json, revision_instructions, created_at"
    ),
}


def copy_floor(admin, store, dump_dir):
    """psql \\copy of the store's rows into a fresh database with
    traceflow's tables: seconds (the CSV dump before it is not timed)."""
    files = {}
    for table, columns in COPY_TABLES.items():
        path = Path(dump_dir) / f"{table}.csv"
        if not path.exists():
            with open(path, "w") as out:
                subprocess.run(
                    ["sqlite3", "-csv", f"file:{store}?immutable=1",
                     f"SELECT {columns} FROM {table} ORDER BY rowid"],
                    check=True, stdout=out,
                )
        files[table] = path
    url = fresh(admin, "tf_bench_copy")
    run([str(BIN), "db", "init", "--db", url])
    start = time.perf_counter()
    script = "BEGIN;\n" + "".join(
        f"\\copy {t} ({COPY_TABLES[t]}) FROM '{p}' WITH (FORMAT csv)\n" for t, p in files.items()
    ) + "COMMIT;\n"
    subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", url], input=script,
                   text=True, check=True, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - start
    drop(admin, "tf_bench_copy")
    return seconds


def median(xs):
    return statistics.median(xs)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--stores", nargs="+", required=True)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--push-rounds", type=int, default=3)
    args = ap.parse_args()
    admin = os.environ["TRACEFLOW_TEST_PG"]
    out = {"stores": args.stores, "rounds": args.rounds}
    rows_first = sum(sqlite_count(args.stores[0], t) for t in COPY_TABLES)
    out["first_store_rows"] = rows_first

    # Push of the first store against psql \copy, interleaved.
    pushes, copies = [], []
    with tempfile.TemporaryDirectory(dir=ROOT.parent) as dump:
        for _ in range(args.push_rounds):
            url = fresh(admin, "tf_bench")
            run([str(BIN), "db", "init", "--db", url])
            pushes.append(timed([str(BIN), "push", "--from", args.stores[0], "--to", url])[0])
            copies.append(copy_floor(admin, args.stores[0], dump))
            print(f"push {pushes[-1]:.1f}s, \\copy {copies[-1]:.1f}s", file=sys.stderr)
    out["push_1m"] = {
        "push_s": pushes, "copy_s": copies,
        "push_rows_per_s": rows_first / median(pushes),
        "copy_rows_per_s": rows_first / median(copies),
        "ratio_push_to_copy_rate": median(copies) / median(pushes),
    }
    url = with_db(admin, "tf_bench")
    # The database now holds the first store, from the last push round.
    repush = [timed([str(BIN), "push", "--from", args.stores[0], "--to", url])[0] for _ in range(3)]
    sent = json.loads(run([str(BIN), "push", "--from", args.stores[0], "--to", url,
                           "--format", "json"]).stdout)
    out["repush_unchanged"] = {
        "seconds": repush,
        "rows_sent": sent["traces"]["sent"] + sent["steps"]["sent"] + sent["evals"]["sent"],
    }

    window_all = floor_sql(["heads"], ["facts"])
    by_day = floor_sql(["heads", "--labels"], ["facts", "--usage"])
    sizes = []
    for k, store in enumerate(args.stores):
        if k > 0:
            t, _ = timed([str(BIN), "push", "--from", store, "--to", url])
            print(f"pushed {store} in {t:.1f}s", file=sys.stderr)
        psql(url, "-c", "VACUUM ANALYZE traces, trace_steps, trace_evals")
        traces = int(psql(url, "-At", "-c", "SELECT count(*) FROM traces").stdout)
        tf, fl, rss = [], [], []
        for _ in range(args.rounds):
            s, m = timed([str(BIN), "trend", "--db", url, "--window", "all", "--format", "json"])
            tf.append(s)
            rss.append(m)
            fl.append(psql_floor(url, window_all))
        size = {
            "traces": traces, "trend_s": tf, "floor_s": fl, "rss_mb": rss,
            "ratio": median(tf) / median(fl),
            "per_round_ratio": median([a / b for a, b in zip(tf, fl)]),
        }
        print(json.dumps(size), file=sys.stderr)
        sizes.append(size)
    out["window_all"] = sizes

    tf, fl, rss = [], [], []
    for _ in range(args.rounds):
        s, m = timed([str(BIN), "trend", "--db", url, "--group-by", "day", "--all-metrics",
                      "--segment-by", "model", "--format", "json"])
        tf.append(s)
        rss.append(m)
        fl.append(psql_floor(url, by_day))
    out["by_day_all_metrics_by_model"] = {
        "trend_s": tf, "floor_s": fl, "rss_mb": rss, "ratio": median(tf) / median(fl),
    }

    with tempfile.TemporaryDirectory(dir=ROOT.parent) as tmp:
        small = Path(tmp) / "new1000.db"
        run(["python3", str(GEN), "--traces", "1000", "--seed", "4242",
             "--start", "2027-01-01T00:00:00+00:00", str(small)])
        t, _ = timed([str(BIN), "push", "--from", str(small), "--to", url])
        out["push_1000_new"] = {"seconds": t}
    json.dump(out, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
