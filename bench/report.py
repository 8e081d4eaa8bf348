#!/usr/bin/env python3
"""Tables of medians from scripts/bench-load results (python3 standard library only).

    python3 bench/report.py [--run RUN_ID] [--out table.md] target/bench-load/results.jsonl

Reads the JSON lines the load generator printed (tagged by scripts/bench-load with run, row,
server and rep), keeps one run (the latest by default), and prints two markdown tables:

1. server CPU per operation, median over the repetitions (bytes per session for the idle row,
   p50 / p99 round trip for the 500-client row), with the ratios the targets of issue 7 are
   stated in: ours-tokio over the floor, over engineioxide and over node;
2. the user-space part of that CPU time (utime over utime + stime of /proc/<pid>/stat), with
   the same ratios: on loopback most of a new session's CPU time is the kernel's TCP work,
   the same for every server, and user space is where the servers differ;
3. median throughput, errors summed over the repetitions, failed runs, and the load
   generator's own CPU share (near 100 % means the load generator, not the server, set the
   pace: CPU per operation still holds, throughput does not).
"""

import argparse
import json
import statistics
import sys

SERVERS = [
    "ours-tokio", "ours-smol", "ours-async-std", "ours-threads", "node", "engineioxide",
    "floor-ws", "floor-ws-burst", "floor-polling",
]

# row id -> (label, which floor ours-tokio is compared with, target text)
ROWS = {
    "ws-echo": ("WebSocket echo, 50 clients, 32 B, closed loop (µs/msg)", "floor-ws",
                "≤ 1.05× floor"),
    "ws-echo-depth16": ("WebSocket echo, 50 clients, 16 in flight (µs/msg)", "floor-ws-burst",
                        "≤ 1.15× burst floor"),
    "polling-echo": ("polling echo, POST then GET, 50 clients (µs/round trip)", "floor-polling",
                     "≤ 1.05× floor"),
    "handshake-polling": ("new session, polling handshake (µs/session)", None,
                          "≤ 0.8× engineioxide"),
    "handshake-ws": ("new session over WebSocket (µs/session)", None, "≤ 0.8× engineioxide"),
    "idle": ("memory per idle WebSocket session, 10 000 sessions (KiB)", None, "≤ 5 KiB"),
    "ws-echo-500": ("p50 / p99 round trip, WebSocket echo, 500 clients (ms)", None,
                    "p99 ≤ 3× p50"),
}


def load(path, run):
    records = []
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            line = line.strip()
            if not line:
                continue
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict) and "run" in record and "row" in record:
                records.append(record)
    if not records:
        sys.exit(f"report: no tagged results in {path}")
    if run is None:
        run = max(r["run"] for r in records)
    records = [r for r in records if r["run"] == run]
    if not records:
        sys.exit(f"report: no results for run {run} in {path}")
    return run, records


def median(values):
    values = [v for v in values if isinstance(v, (int, float))]
    return statistics.median(values) if values else None


def ok(records):
    return [r for r in records if not r.get("failed")]


def metric(row, records):
    """The cell value of a row for one server (None when nothing was measured)."""
    good = ok(records)
    if row == "idle":
        return median(r.get("bytes_per_session") for r in good)
    if row == "ws-echo-500":
        p50 = median(r.get("p50_us") for r in good)
        p99 = median(r.get("p99_us") for r in good)
        return None if p50 is None or p99 is None else (p50, p99)
    return median(r.get("server_cpu_us_per_op") for r in good)


def cell(row, value):
    if value is None:
        return "—"
    if row == "idle":
        return f"{value / 1024:.1f}"
    if row == "ws-echo-500":
        return f"{value[0] / 1000:.2f} / {value[1] / 1000:.2f}"
    return f"{value:.2f}" if value < 100 else f"{value:.0f}"


def scalar(row, value):
    """The number a ratio uses: p99 for the latency row."""
    if value is None:
        return None
    return value[1] if row == "ws-echo-500" else value


def ratio(row, ours, other):
    ours, other = scalar(row, ours), scalar(row, other)
    if ours is None or other is None or other == 0:
        return "—"
    return f"{ours / other:.2f}×"


def table(lines_out, header, rows):
    lines_out.append("| " + " | ".join(header) + " |")
    lines_out.append("|" + "|".join("---" for _ in header) + "|")
    for row in rows:
        lines_out.append("| " + " | ".join(row) + " |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", help="results.jsonl written by scripts/bench-load")
    parser.add_argument("--run", help="the run id (default: the latest in the file)")
    parser.add_argument("--out", help="also write the tables to this markdown file")
    args = parser.parse_args()

    run, records = load(args.results, args.run)
    by = {}
    for record in records:
        by.setdefault((record["row"], record["server"]), []).append(record)
    rows = [row for row in ROWS if any(key[0] == row for key in by)]
    servers = [s for s in SERVERS if any(key[1] == s for key in by)]
    servers += sorted({key[1] for key in by} - set(servers))
    reps = max((r.get("rep", 1) for r in records), default=1)

    out = [f"Run {run}: medians of {reps} repetition(s); server pinned to core 0, "
           "load generator to core 1.", ""]
    header = ["scenario"] + servers + [
        "ours-tokio / floor", "ours-tokio / engineioxide", "ours-tokio / node", "target"]
    body = []
    for row in rows:
        label, floor, target = ROWS[row]
        values = {s: metric(row, by.get((row, s), [])) for s in servers}
        ours = values.get("ours-tokio")
        body.append([label] + [cell(row, values[s]) for s in servers] + [
            ratio(row, ours, values.get(floor)) if floor else "—",
            ratio(row, ours, values.get("engineioxide")),
            ratio(row, ours, values.get("node")),
            target,
        ])
    table(out, header, body)
    out += ["", "Server CPU per operation (from /proc/<server pid>), except the idle row "
            "(RSS growth per session) and the latency row (p50 / p99, ms; its ratios use p99).",
            ""]

    header = ["scenario"] + servers + [
        "ours-tokio / floor", "ours-tokio / engineioxide", "ours-tokio / node"]
    body = []
    for row in rows:
        if row in ("idle", "ws-echo-500"):
            continue
        label, floor, _ = ROWS[row]
        values = {s: median(r.get("server_user_us_per_op") for r in ok(by.get((row, s), [])))
                  for s in servers}
        if all(value is None for value in values.values()):
            continue  # results from before the split was recorded
        ours = values.get("ours-tokio")
        body.append([label] + [cell(row, values[s]) for s in servers] + [
            ratio(row, ours, values.get(floor)) if floor else "—",
            ratio(row, ours, values.get("engineioxide")),
            ratio(row, ours, values.get("node")),
        ])
    if body:
        table(out, header, body)
        out += ["", "The user-space part of the server CPU per operation above (utime / "
                "(utime + stime) of /proc/<server pid>/stat over the window); the rest is "
                "the kernel's.", ""]

    header = ["scenario"] + servers
    body = []
    for row in rows:
        cells = []
        for server in servers:
            runs = by.get((row, server), [])
            if not runs:
                cells.append("—")
                continue
            good = ok(runs)
            failed = len(runs) - len(good)
            if row == "idle":
                before = median(r.get("rss_kb_before") for r in good)
                held = median(r.get("rss_kb_with_sessions") for r in good)
                after = median(r.get("rss_kb_after_close") for r in good)
                text = "RSS " + " → ".join(
                    "?" if v is None else f"{v / 1024:.0f}" for v in (before, held, after)) + " MiB"
            else:
                ops = median(r.get("ops_per_s") for r in good)
                text = "—" if ops is None else f"{ops / 1000:.1f}k/s"
            errors = sum(r.get("errors") or 0 for r in good)
            text += f", {errors} err"
            shares = []
            for r in good:
                cpu, secs = r.get("loadgen_cpu_ns"), r.get("duration_s")
                if isinstance(cpu, (int, float)) and isinstance(secs, (int, float)) and secs > 0:
                    shares.append(cpu / 1e9 / secs)
            share = median(shares)
            if share is not None and row != "idle":
                text += f", lg {share * 100:.0f}%"
            if failed:
                text += f", **{failed} failed**"
            cells.append(text)
        body.append([row] + cells)
    table(out, header, body)
    out += ["", "Median throughput (operations/s; RSS before → with sessions → after close for "
            "the idle row), errors summed over the repetitions, the load generator's CPU share "
            "(lg), failed runs."]

    text = "\n".join(out) + "\n"
    sys.stdout.write(text)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as file:
            file.write(text)


if __name__ == "__main__":
    main()
