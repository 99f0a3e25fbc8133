#!/usr/bin/env python3
"""The reference importer of issue 24's "Measured": plain Python, `json` and
`sqlite3.executemany`, writing the rows `traceflow import` writes
(crates/traceflow/src/import/write.rs): per case execution a `traces` row, one
`trace_steps` row (`executor`, the usage) and one `trace_evals` row (`pass`
or `fallback`, the failed evaluations as reasons, every evaluation's score),
plus the trace's digest in `traceflow_imported`; one transaction per file
(the OTLP traces and logs files together, as traceflow joins them).

It reads the same input fully (every record parsed, the OTLP evaluations
joined to their spans) and writes the same number of rows, in TraceFlow
Lite's layout. It is not feature-complete: no format detection beyond the
two benchmarked (promptfoo's `-o` JSON, OTLP JSON lines), no re-import
(it is timed into a fresh store only), few checks.

    bench/import_reference.py --db STORE promptfoo FILE...
    bench/import_reference.py --db STORE otlp traces.jsonl logs.jsonl
"""

import argparse
import hashlib
import json
import sqlite3
import sys
from datetime import datetime, timedelta, timezone

SCHEMA = """
CREATE TABLE IF NOT EXISTS traces (
    trace_id TEXT PRIMARY KEY, status TEXT NOT NULL, mode TEXT NOT NULL,
    user_input TEXT NOT NULL, config_json TEXT NOT NULL, model TEXT NOT NULL,
    provider TEXT NOT NULL, final_answer TEXT, error TEXT,
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, finished_at TIMESTAMP,
    updated_db_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP);
CREATE TABLE IF NOT EXISTS trace_steps (
    step_id INTEGER PRIMARY KEY AUTOINCREMENT, trace_id TEXT NOT NULL,
    step_seq INTEGER NOT NULL, node_name TEXT NOT NULL, input_json TEXT, output_json TEXT,
    tokens INTEGER DEFAULT 0, latency_ms INTEGER DEFAULT 0, cost_usd REAL DEFAULT 0.0,
    error TEXT, cache_hit INTEGER DEFAULT 0,
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_db_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    FOREIGN KEY (trace_id) REFERENCES traces(trace_id) ON DELETE CASCADE);
CREATE TABLE IF NOT EXISTS trace_evals (
    eval_id INTEGER PRIMARY KEY AUTOINCREMENT, trace_id TEXT NOT NULL,
    step_seq INTEGER NOT NULL, decision TEXT NOT NULL, reasons_json TEXT, scores_json TEXT,
    revision_instructions TEXT, created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_db_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    FOREIGN KEY (trace_id) REFERENCES traces(trace_id) ON DELETE CASCADE);
CREATE TABLE IF NOT EXISTS llm_cache (
    cache_key TEXT PRIMARY KEY, model TEXT NOT NULL, response_content TEXT NOT NULL,
    input_tokens INTEGER DEFAULT 0, output_tokens INTEGER DEFAULT 0,
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP, hit_count INTEGER DEFAULT 0);
CREATE TABLE IF NOT EXISTS traceflow_imported (trace_id TEXT PRIMARY KEY, digest TEXT NOT NULL);
"""

EVENT = "gen_ai.evaluation.result"
AGENT = "invoke_agent"
INFERENCE = ("chat", "text_completion", "generate_content", "create_agent")
PASS = {"pass", "passed", "correct", "relevant", "true", "yes", "success", "ok"}
FAIL = {"fail", "failed", "incorrect", "not_relevant", "irrelevant", "false", "no", "failure", "error"}


def py_time(dt):
    """timestamp::format_python."""
    if dt.microsecond == 0:
        return dt.strftime("%Y-%m-%dT%H:%M:%S+00:00")
    return dt.strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


def from_nanos(n):
    return datetime.fromtimestamp(n // 10**9, tz=timezone.utc) + timedelta(microseconds=(n % 10**9) // 1000)


def label_passes(label):
    label = label.strip().lower()
    return True if label in PASS else False if label in FAIL else None


def result(run, case, at, **kw):
    """A case result (import::CaseResult)."""
    r = dict(run=run, case=case, repeat=0, at=at, passed=True, error=None, evaluations=[],
             model=None, input=None, output=None, cost=None, latency=None, tokens=None, labels={})
    r.update(kw)
    return r


# ------------------------------------------------------------------ writing


def rows(fmt, r, now):
    """write::trace_of: the trace, step and eval rows and the digest."""
    part = lambda t: t.replace("%", "%25").replace(":", "%3A")
    trace_id = f"{fmt}:{part(r['run'])}:{part(r['case'])}:{r['repeat']}"
    config = {k: v for k, v in sorted(r["labels"].items()) if k not in ("source", "run", "case", "repeat")}
    config.update(source=fmt, run=r["run"], case=r["case"], repeat=r["repeat"])
    at = r["at"]
    latency = r["latency"]
    finished = at + timedelta(milliseconds=latency) if latency is not None and 0 <= latency < 1e12 else at
    scores = {e[0]: float(e[1]) for e in r["evaluations"] if e[1] is not None}
    reasons = [f"{e[0]}: {e[3]}" if e[3] is not None else e[0] for e in r["evaluations"] if e[2] is False]
    if r["error"] is not None:
        reasons.append(f"error: {r['error']}")
    created = py_time(at)
    trace = (trace_id, "failed" if r["error"] is not None else "done", fmt,
             r["input"] if r["input"] is not None else r["case"], json.dumps(config, sort_keys=True),
             r["model"] or "", fmt, r["output"], r["error"], created, py_time(finished), now)
    step = (trace_id, 0, "executor", None, None, r["tokens"] or 0, latency or 0.0, r["cost"] or 0.0,
            r["error"], 0, created, now)
    evaluation = (trace_id, 0, "pass" if r["passed"] else "fallback",
                  json.dumps(reasons) if reasons else None,
                  json.dumps(dict(sorted(scores.items()))) if scores else None, None, created, now)
    digest = hashlib.sha256(repr((trace[:11], step[:11], evaluation[:7])).encode()).hexdigest()
    return trace, step, evaluation, (trace_id, digest)


def write(db, fmt, results):
    """One transaction: every result's rows, by executemany."""
    now = py_time(datetime.now(timezone.utc))
    traces, steps, evals, digests = [], [], [], []
    for r in results:
        t, s, e, d = rows(fmt, r, now)
        traces.append(t)
        steps.append(s)
        evals.append(e)
        digests.append(d)
    with db:
        db.executemany("INSERT INTO traces (trace_id, status, mode, user_input, config_json, model, "
                       "provider, final_answer, error, created_at, finished_at, updated_db_at) "
                       "VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", traces)
        db.executemany("INSERT INTO trace_steps (trace_id, step_seq, node_name, input_json, output_json, "
                       "tokens, latency_ms, cost_usd, error, cache_hit, created_at, updated_db_at) "
                       "VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", steps)
        db.executemany("INSERT INTO trace_evals (trace_id, step_seq, decision, reasons_json, scores_json, "
                       "revision_instructions, created_at, updated_db_at) VALUES (?,?,?,?,?,?,?,?)", evals)
        db.executemany("INSERT INTO traceflow_imported (trace_id, digest) VALUES (?, ?) "
                       "ON CONFLICT (trace_id) DO UPDATE SET digest = excluded.digest", digests)
    return len(traces)


# ---------------------------------------------------------------- promptfoo


def promptfoo(path):
    with open(path, "rb") as f:
        doc = json.load(f)
    res = doc["results"]
    stamp = res.get("timestamp") or doc.get("metadata", {}).get("evaluationCreatedAt")
    at = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    run = doc["evalId"]
    out, seen = [], set()
    for raw in res["results"]:
        tc = raw.get("testCase") or {}
        case = (tc.get("description") or "").strip() or f"test-{raw['testIdx']}"
        provider = raw.get("provider") or {}
        if isinstance(provider, str):
            provider = {"id": provider}
        if case in seen:  # the same test of another provider or prompt
            case = f"{case} [{provider.get('label') or provider.get('id')}]"
        seen.add(case)
        evaluations, counts = [], {}
        for c in (raw.get("gradingResult") or {}).get("componentResults") or []:
            a = c.get("assertion") or {}
            base = (a.get("metric") or "").strip() or (a.get("type") or "").strip() or "assertion"
            counts[base] = counts.get(base, 0) + 1
            name = base if counts[base] == 1 else f"{base}#{counts[base]}"
            evaluations.append((name, c.get("score"), c.get("pass"), c.get("reason") or None))
        for name, score in (raw.get("namedScores") or {}).items():
            if name not in counts:
                evaluations.append((name, score, None, None))
        error = None
        if raw.get("failureReason") == 2:
            error = (raw.get("error") or "").strip() or "promptfoo reported an error"
        response = raw.get("response") or {}
        tokens = (raw.get("tokenUsage") or {}).get("total")
        if tokens is None:
            tokens = (response.get("tokenUsage") or {}).get("total")
        vars_ = raw.get("vars") or tc.get("vars")
        prompt = raw.get("prompt") or {}
        output = response.get("output")
        out.append(result(
            run, case, at, passed=bool(raw.get("success")), error=error, evaluations=evaluations,
            model=provider.get("id") or provider.get("label"),
            input=prompt.get("raw") if prompt.get("raw") is not None else (json.dumps(vars_) if vars_ else None),
            output=None if output is None else output if isinstance(output, str) else json.dumps(output),
            cost=raw.get("cost"), latency=raw.get("latencyMs"), tokens=tokens,
            labels={k: v for k, v in (tc.get("metadata") or {}).items() if isinstance(v, str)},
        ))
    return out


# --------------------------------------------------------------------- OTLP


def attrs(kvs):
    out = {}
    for kv in kvs or ():
        v = kv.get("value") or {}
        if "stringValue" in v:
            out[kv["key"]] = v["stringValue"]
        elif "intValue" in v:
            out[kv["key"]] = int(v["intValue"])
        elif "doubleValue" in v:
            out[kv["key"]] = float(v["doubleValue"])
        elif "boolValue" in v:
            out[kv["key"]] = v["boolValue"]
    return out


def otlp(paths):
    spans, evals, resources = {}, [], []
    for path in paths:
        with open(path, "rb") as f:
            for line in f:
                if not line.strip():
                    continue
                batch = json.loads(line)
                for rs in batch.get("resourceSpans") or ():
                    resources.append(attrs(rs.get("resource", {}).get("attributes")))
                    res = len(resources) - 1
                    for ss in rs.get("scopeSpans") or ():
                        for s in ss.get("spans") or ():
                            key = (s["traceId"], s["spanId"])
                            a = attrs(s.get("attributes"))
                            status = s.get("status") or {}
                            error = a.get("error.type")
                            if error is None and status.get("code") in (2, "STATUS_CODE_ERROR"):
                                error = status.get("message") or "span status ERROR"
                            for e in s.get("events") or ():
                                if e.get("name") == EVENT:
                                    evals.append((key, attrs(e.get("attributes")), int(e.get("timeUnixNano") or 0)))
                            parent = s.get("parentSpanId")
                            spans[key] = dict(
                                parent=(s["traceId"], parent) if parent else None,
                                start=int(s.get("startTimeUnixNano") or 0), end=int(s.get("endTimeUnixNano") or 0),
                                attrs=a, resource=res, error=error)
                for rl in batch.get("resourceLogs") or ():
                    resources.append(attrs(rl.get("resource", {}).get("attributes")))
                    for sl in rl.get("scopeLogs") or ():
                        for log in sl.get("logRecords") or ():
                            a = attrs(log.get("attributes"))
                            if log.get("eventName") == EVENT or (not log.get("eventName") and a.get("event.name") == EVENT):
                                key = (log["traceId"], log["spanId"]) if log.get("spanId") else None
                                evals.append((key, a, int(log.get("timeUnixNano") or 0)))

    children = {}
    for key, s in spans.items():
        if s["parent"] in spans:
            children.setdefault(s["parent"], []).append(key)
    by_response = {}
    for key, s in spans.items():
        rid = s["attrs"].get("gen_ai.response.id")
        if isinstance(rid, str) and (rid not in by_response or spans[by_response[rid]]["start"] > s["start"]):
            by_response[rid] = key

    def lineage(key):
        out, seen = [], set()
        while key in spans and key not in seen:
            seen.add(key)
            out.append(key)
            key = spans[key]["parent"]
        return out

    def operation(key):
        line = lineage(key)
        for k in line:
            if spans[k]["attrs"].get("gen_ai.operation.name") == AGENT:
                return k
        for k in line:
            if spans[k]["attrs"].get("gen_ai.operation.name") in INFERENCE:
                return k
        return None

    def inherited(key, names):
        line = lineage(key)
        for k in line:
            for n in names:
                if n in spans[k]["attrs"]:
                    return spans[k]["attrs"][n]
        if line:
            res = resources[spans[line[0]]["resource"]]
            for n in names:
                if n in res:
                    return res[n]
        return None

    def tokens(key, depth=0):
        a = spans[key]["attrs"]
        inp, out = a.get("gen_ai.usage.input_tokens"), a.get("gen_ai.usage.output_tokens")
        read = a.get("gen_ai.usage.cache_read.input_tokens")
        made = a.get("gen_ai.usage.cache_creation.input_tokens", a.get("gen_ai.usage.cache_write.input_tokens"))
        if inp is None and (read is not None or made is not None):
            inp = (read or 0) + (made or 0)
        if inp is not None or out is not None:
            return (inp or 0) + (out or 0)
        if depth > 64:
            return None
        got = [t for c in children.get(key, ()) if (t := tokens(c, depth + 1)) is not None]
        return sum(got) if got else None

    groups = {}
    for key, a, time in evals:
        owner = operation(key) if key else None
        if owner is None:
            rid = a.get("gen_ai.response.id")
            if rid in by_response:
                owner = operation(by_response[rid]) or by_response[rid]
        if owner is None:
            owner = key if key else ("response", rid)
        groups.setdefault(owner, []).append((a, time))

    out = []
    for owner, group in groups.items():
        evaluations, eval_error = [], None
        for a, _ in group:
            name = a["gen_ai.evaluation.name"]
            if a.get("error.type") and eval_error is None:
                eval_error = f"evaluation {name}: {a['error.type']}"
            label = a.get("gen_ai.evaluation.score.label")
            evaluations.append((name, a.get("gen_ai.evaluation.score.value"),
                                label_passes(label) if label is not None else None,
                                a.get("gen_ai.evaluation.explanation")))
        if owner in spans:
            s = spans[owner]
            case = inherited(owner, ("test.case.id", "test.case.name"))
            run = inherited(owner, ("test.suite.run.id",))
            if case is None:
                case, run = owner[1], owner[0]
            run = run or owner[0]
            start = s["start"] or next((t for _, t in group if t), 0)
            labels = {"trace_id": owner[0], "span_id": owner[1]}
            suite = inherited(owner, ("test.suite.name",))
            if suite is not None:
                labels["test.suite.name"] = suite
            error = s["error"] or eval_error
            r = result(run, case, from_nanos(start), error=error, evaluations=evaluations,
                       model=inherited(owner, ("gen_ai.response.model",)) or inherited(owner, ("gen_ai.request.model",)),
                       tokens=tokens(owner),
                       latency=(s["end"] - s["start"]) / 1e6 if s["start"] and s["end"] >= s["start"] else None,
                       labels=labels)
        else:  # a span no file holds, or no span at all
            case = owner[1]
            run = owner[0] if owner[0] != "response" else "otlp"
            start = next((t for _, t in group if t), 0)
            r = result(run, case, from_nanos(start), error=eval_error, evaluations=evaluations)
        r["passed"] = r["error"] is None and all(e[2] is not False for e in r["evaluations"])
        out.append(r)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", required=True)
    ap.add_argument("format", choices=["promptfoo", "otlp"])
    ap.add_argument("paths", nargs="+")
    a = ap.parse_args()
    db = sqlite3.connect(a.db)
    db.executescript(SCHEMA)
    written = 0
    if a.format == "promptfoo":
        for path in a.paths:
            written += write(db, "promptfoo", promptfoo(path))
    else:
        written += write(db, "otlp", otlp(a.paths))
    db.close()
    print(f"{written} results written", file=sys.stderr)


if __name__ == "__main__":
    main()
