#!/usr/bin/env python3
"""Large inputs for the import benchmark (issue 24, "Measured"), scaled up
from the real tool output committed in tests/fixtures/import/.

Nothing here invents a format: every record written is a copy of a record
the tool itself wrote, with only its identities changed.

- promptfoo: `--pf-runs` files `promptfoo/run-NNNN.json`, each a copy of a
  real `promptfoo eval -o` file (tests/fixtures/import/promptfoo/run-NN.json)
  whose `results.results[]` is the real file's 12 results replicated to
  `--pf-cases` results, each with a new `testIdx`, `testCase.description`
  (`case-NNNNN`), `id` (a UUID), `vars.number`; each file a new `evalId`
  and time (`results.timestamp`, `metadata.evaluationCreatedAt`), its
  `stats` recounted. Written with indent 2, as promptfoo writes it.
- OTLP: `otlp/traces.jsonl` + `otlp/logs.jsonl`, `--otlp-runs` runs of
  `--otlp-batches` batches: a batch is one real line of
  tests/fixtures/import/otlp/traces.jsonl (12 cases, 24 spans) and its
  logs.jsonl line (24 `gen_ai.evaluation.result` records; the real run-08
  has them as span events instead and no logs line) with fresh trace and
  span ids, `test.suite.run.id` = `run-NNNN`, `test.case.id` =
  `case-NNNN`, `gen_ai.response.id` renamed alike, and times moved. One
  batch is 24 evaluations.

Which real run a copy is taken from: runs in the first 60 % of the history
copy the fixtures' runs 1-6 (in turn), the later ones runs 7-10, so the
large history has the fixtures' quality drop (at 60 %) and their flaky case.

Deterministic: the same arguments and --seed write the same bytes.

    bench/import_data.py OUT_DIR                      # 100k promptfoo results, ~1M evaluations
    bench/import_data.py OUT_DIR --otlp-runs 100      # ~100k evaluations
"""

import argparse
import copy
import json
import random
import re
import sys
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests/fixtures/import"


def template_index(run, runs, early, late):
    """Which of the fixture's runs (0-based) run `run` (0-based) copies."""
    if run < int(runs * 0.6):
        return early[run % len(early)]
    return late[run % len(late)]


# ---------------------------------------------------------------- promptfoo


def promptfoo(out, runs, cases, seed):
    rng = random.Random(seed)
    files = sorted((FIXTURES / "promptfoo").glob("run-*.json"))
    real = [json.loads(f.read_text()) for f in files]
    out.mkdir(parents=True, exist_ok=True)
    total = 0
    for run in range(runs):
        source = real[template_index(run, runs, range(0, 6), range(6, len(real)))]
        doc = copy.deepcopy(source)
        records = source["results"]["results"]
        when = f"2026-{1 + run // 2800 % 12:02d}-{1 + run // 100 % 28:02d}T{run % 24:02d}:{run % 60:02d}:00.000Z"
        doc["evalId"] = f"eval-bench-{run + 1:04d}-{when[:19]}"
        doc["results"]["timestamp"] = when
        doc["metadata"]["evaluationCreatedAt"] = when
        results = []
        successes = failures = errors = 0
        for i in range(cases):
            r = copy.deepcopy(records[i % len(records)])
            r["testIdx"] = i
            r["id"] = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            r["testCase"]["description"] = f"case-{i + 1:05d}"
            if isinstance(r.get("vars"), dict):
                r["vars"]["number"] = f"{i + 1:05d}"
            r["testCase"].setdefault("vars", {})["number"] = f"{i + 1:05d}"
            if r.get("success"):
                successes += 1
            elif r.get("failureReason") == 2:
                errors += 1
            else:
                failures += 1
            results.append(r)
        doc["results"]["results"] = results
        stats = doc["results"]["stats"]
        stats["successes"], stats["failures"], stats["errors"] = successes, failures, errors
        path = out / f"run-{run + 1:04d}.json"
        with open(path, "w") as f:
            json.dump(doc, f, indent=2)
        total += cases
    return total


# --------------------------------------------------------------------- OTLP

TOKEN = re.compile(
    r'"([0-9a-f]{32})"'  # a trace id
    r'|"([0-9a-f]{16})"'  # a span id
    r'|"(\d{19})"'  # a time in Unix nanoseconds
    r"|run-(\d\d)\b"  # the run in test.suite.run.id, gen_ai.response.id
    r"|case-(\d\d)\b"  # the case in test.case.id, gen_ai.response.id
)


def split(text):
    """A line as literal pieces and the tokens between them: (kind, value)."""
    pieces, tokens, at = [], [], 0
    for m in TOKEN.finditer(text):
        pieces.append(text[at : m.start()])
        kind = m.lastindex
        tokens.append((kind, m.group(kind)))
        at = m.end()
    pieces.append(text[at:])
    return pieces, tokens


def otlp(out, runs, batches, seed):
    rng = random.Random(seed)
    trace_lines = (FIXTURES / "otlp/traces.jsonl").read_text().splitlines()
    log_lines = (FIXTURES / "otlp/logs.jsonl").read_text().splitlines()
    # Each traces line is one real run; its logs line is the one sharing
    # its trace ids (none for the run whose evaluations are span events).
    logs_of = []
    for t in trace_lines:
        ids = set(re.findall(r'"traceId":"([0-9a-f]{32})"', t))
        match = [l for l in log_lines if ids & set(re.findall(r'"traceId":"([0-9a-f]{32})"', l))]
        logs_of.append(match[0] if match else None)
    templates = []
    for t, l in zip(trace_lines, logs_of):
        nanos = [int(n) for n in re.findall(r'"(\d{19})"', t)]
        evaluations = t.count('"gen_ai.evaluation.result"') + (l.count('"gen_ai.evaluation.result"') if l else 0)
        templates.append((split(t), split(l) if l else None, min(nanos), evaluations))
    out.mkdir(parents=True, exist_ok=True)
    base = 1793523600 * 10**9
    evaluations = 0
    with open(out / "traces.jsonl", "w") as traces, open(out / "logs.jsonl", "w") as logs:
        for run in range(runs):
            t_split, l_split, start, count = templates[
                template_index(run, runs, range(0, 6), range(6, len(templates)))
            ]
            for batch in range(batches):
                ids = {}
                shift = base + (run * 7200 + batch * 120) * 10**9 - start

                def value(kind, v):
                    if kind == 1 or kind == 2:
                        new = ids.get(v)
                        if new is None:
                            bits = 128 if kind == 1 else 64
                            new = ids[v] = f'"{rng.getrandbits(bits):0{bits // 4}x}"'
                        return new
                    if kind == 3:
                        return f'"{int(v) + shift}"'
                    if kind == 4:
                        return f"run-{run + 1:04d}"
                    return f"case-{batch * 12 + int(v):04d}"

                for line, f in ((t_split, traces), (l_split, logs)):
                    if line is None:
                        continue
                    pieces, tokens = line
                    parts = [pieces[0]]
                    for (kind, v), piece in zip(tokens, pieces[1:]):
                        parts.append(value(kind, v))
                        parts.append(piece)
                    f.write("".join(parts))
                    f.write("\n")
                evaluations += count
    return evaluations


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--pf-runs", type=int, default=100)
    ap.add_argument("--pf-cases", type=int, default=1000)
    ap.add_argument("--otlp-runs", type=int, default=1000)
    ap.add_argument("--otlp-batches", type=int, default=42, help="12 cases, 24 evaluations each")
    ap.add_argument("--seed", type=int, default=24)
    ap.add_argument("--skip", choices=["promptfoo", "otlp"], action="append", default=[])
    a = ap.parse_args()
    if "promptfoo" not in a.skip:
        n = promptfoo(a.out / "promptfoo", a.pf_runs, a.pf_cases, a.seed)
        size = sum(p.stat().st_size for p in (a.out / "promptfoo").glob("*.json"))
        print(f"promptfoo: {a.pf_runs} files, {n} results, {size / 1e6:.1f} MB", file=sys.stderr)
    if "otlp" not in a.skip:
        n = otlp(a.out / "otlp", a.otlp_runs, a.otlp_batches, a.seed)
        sizes = {p.name: p.stat().st_size for p in sorted((a.out / "otlp").glob("*.jsonl"))}
        print(
            f"otlp: {a.otlp_runs} runs x {a.otlp_batches * 12} cases, {n} evaluations, "
            + ", ".join(f"{k} {v / 1e6:.1f} MB" for k, v in sizes.items())
            + f", total {sum(sizes.values()) / 1e6:.1f} MB",
            file=sys.stderr,
        )


if __name__ == "__main__":
    main()
