#!/usr/bin/env python3
"""Summarises ONNX Runtime profiler traces (Chrome-trace JSON, as written with SessionConfig.profiling or
TrainBench --profile): kernel time per operator type, and the slowest nodes, over all runs in each file.

Usage: src-test/bench/ort-profile-summary.py TRACE.json [TRACE.json...] [--top 25] [--skip-runs 1]
--skip-runs drops each file's first N model runs (warm-up) before summing."""
import argparse
import collections
import json


def load(path):
    """The events of one trace file, read line by line (ORT writes one event per line). A training session's graphs
    share one file name (the prefix plus the start second), so the eval graph's short trace can overwrite the start
    of the training graph's: lines that no longer parse are skipped."""
    events = []
    for line in open(path):
        line = line.strip().rstrip(",")
        if line.startswith("{") and line.endswith("}"):
            try:
                events.append(json.loads(line))
            except json.JSONDecodeError:
                pass
    return events


def session_of(event):
    return event.get("args", {}).get("thread_scheduling_stats", {}).get("main_thread", {}).get("thread_pool_name", "?")


def summarise(path, top, skip):
    events = load(path)
    runs = sorted((e for e in events if e.get("cat") == "Session" and e.get("name") == "model_run"),
                  key=lambda e: e["ts"])
    kernels = [e for e in events if e.get("cat") == "Node" and e.get("name", "").endswith("_kernel_time")]
    # one file can hold the traces of several graphs (a training session's train and optimizer graphs can start in
    # the same second): each kernel belongs to the run whose time span holds it
    by_session = collections.defaultdict(list)
    # (their clocks start apart, so a run's time span can also hold another graph's kernels: the run belongs to the
    # session most of its kernels come from)
    for r in runs:
        inside = [k for k in kernels if r["ts"] <= k["ts"] <= r["ts"] + r["dur"]]
        if inside:
            session = collections.Counter(session_of(k) for k in inside).most_common(1)[0][0]
            by_session[session].append((r, [k for k in inside if session_of(k) == session]))
    for session, session_runs in sorted(by_session.items()):
        report(path, session, session_runs[skip:], top)


def report(path, session, runs, top):
    if not runs:
        print(f"{path} {session}: no runs left after skipping warm-up runs\n")
        return
    n = len(runs)
    wall = sum(r["dur"] for r, _ in runs)
    by_op, count, by_node = collections.Counter(), collections.Counter(), collections.Counter()
    for _, inside in runs:
        for e in inside:
            op = e.get("args", {}).get("op_name", "?")
            by_op[op] += e["dur"]
            count[op] += 1
            by_node[(op, e["name"][: -len("_kernel_time")])] += e["dur"]
    kernels = sum(by_op.values())
    print(f"{path} {session}: {n} runs, {wall / n / 1e3:.1f} ms per run, kernels {kernels / n / 1e3:.1f} ms per run "
          f"({100 * kernels / wall:.0f}% of run time; the rest is scheduling, allocation and copies)")
    print(f"{'op':32} {'ms/run':>9} {'share':>6} {'calls/run':>9}")
    for op, d in by_op.most_common(top):
        print(f"{op:32} {d / n / 1e3:9.1f} {100 * d / kernels:5.1f}% {count[op] / n:9.0f}")
    print(f"slowest {top} nodes:")
    for (op, name), d in by_node.most_common(top):
        print(f"  {d / n / 1e3:8.2f} ms  {op:24} {name}")
    print()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("traces", nargs="+")
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--skip-runs", type=int, default=1)
    a = ap.parse_args()
    for t in a.traces:
        summarise(t, a.top, a.skip_runs)


if __name__ == "__main__":
    main()
