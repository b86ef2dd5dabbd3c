#!/usr/bin/env python3
"""Summarises the gateway's per-request timing log (logger io.buildgateway.timing at DEBUG; issue #17).

    bench/load/timings.py .state/load/gateway.log .state/load/gateway-b.log
    bench/load/timings.py --split 20 .state/load/gateway.log .state/load/gateway-b.log

Reads the lines `timing <METHOD> <path> <status> total=<ms> <phase>=<ms> ... [note]`, groups them by method, path
(ids replaced by {id}) and status class, and prints per group the count and p50 / p99 / max of the total and of each
phase, in milliseconds. With --slow N it also prints the N slowest requests as logged. With --split S the requests
are summarised twice: those that started in the first S seconds after the first submission of all files started
(`POST /api/v1/builds`; a run's cold start: the replicas' JIT, empty caches, the first burst) and those that started
after it; a request's start is its line's leading ISO timestamp (Spring Boot's default log pattern, written when it
ended) less its total. Requests before the first submission (the bench's token set-up) are left out. Each group
with phases also gets "unmarked": a request's total less its top-level phases (the policy check's parse, triggers,
rules and canonical are inside "lint"), the time no mark covers: the filters and the framework, the response, and
whatever waits between the marks.

A replica's group commit of accepted submissions logs a line of its own per batch (`timing record-batch team=<t>
size=<n> accepted=<k> total=<ms> lock=… insert=… audit=… commit=…`); those are summarised as `RECORD batch/<team>`,
with the batch's size and accepted count beside its phases (the members' requests mark only `batch`).

With --since T (epoch seconds, or a file holding them: bench/load.sh's .state/load/measured-start) requests that
started before T are left out: a run with a warm pass (LOAD_WARM_BUILDS) summarises its measured pass alone, and
the replicas' own warm-up requests before readiness (a lint, a 429 and a 404 in each of the first 2,000 rounds:
docs/operations.md, "Warm-up before readiness") are left out; without --since they are summarised with the run.

The first line is the issue's own measure of the submission target: the accepted submissions' (202) time at the
server less their upload phase, p50 / p99 over all the lines read (the client's figure includes the upload and the
loopback's queueing). The second counts the team-quota refusals that came only after the upload.
"""
from datetime import datetime
import re
import sys

LINE = re.compile(r"timing (\S+) (\S+) (\d{3}) total=([\d.]+)((?: [a-z]+=[\d.]+)*)(?: (\S+))?\s*$")
STAMP = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?)")
BATCH = re.compile(r"timing record-batch team=(\S+) size=(\d+) accepted=(\d+) total=([\d.]+)((?: [a-z]+=[\d.]+)*)\s*$")
# Phases the submission marks inside its "lint" phase (the policy check's parts), and a batch's size and accepted
# count (numbers, not times): left out of "unmarked".
NESTED = {"parse", "triggers", "rules", "canonical", "size", "accepted"}
ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|sha256:[0-9a-f]{64}")


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p / 100))]


def read(names):
    """(seconds since the epoch or None, raw line, match) of every timing line."""
    lines = []
    for name in names or ["/dev/stdin"]:
        with open(name, errors="replace") as f:
            for raw in f:
                b = BATCH.search(raw)
                if b:
                    team, size, accepted, total, phases = b.groups()
                    raw = (raw[:b.start()] + f"timing RECORD batch/{team} 200 total={total} size={size}"
                           f" accepted={accepted}{phases}\n")
                m = LINE.search(raw)
                if not m:
                    continue
                stamp = STAMP.match(raw)
                # the request's start: logged at its end, less its total
                at = datetime.fromisoformat(stamp.group(1)).timestamp() - float(m.group(4)) / 1000 if stamp else None
                lines.append((at, raw, m))
    return lines


def summarise(lines, slow):
    groups = {}
    requests = []
    for _, raw, m in lines:
        method, path, status, total, phases, note = m.groups()
        key = (method, ID.sub("{id}", path.split("?")[0]), status[0] + "xx" + (" " + note if note else ""))
        g = groups.setdefault(key, {})
        g.setdefault("total", []).append(float(total))
        marked = 0.0
        for part in phases.split():
            phase, ms = part.split("=")
            g.setdefault(phase, []).append(float(ms))
            marked += 0 if phase in NESTED else float(ms)
        if phases:
            g.setdefault("unmarked", []).append(float(total) - marked)
        requests.append((float(total), raw.strip()))
    if not groups:
        print("no timing lines (is logger io.buildgateway.timing at DEBUG?)")
        return 1
    for key in sorted(groups, key=lambda k: -len(groups[k]["total"])):
        g = groups[key]
        print(f"{key[0]} {key[1]} {key[2]}: n={len(g['total'])}")
        for phase, values in g.items():
            print(f"  {phase:<8} p50 {pct(values, 50):9.1f}  p99 {pct(values, 99):9.1f}  max {max(values):9.1f}"
                  f"  (n={len(values)})")
    if slow:
        print(f"the {slow} slowest:")
        for _, line in sorted(requests, reverse=True)[:slow]:
            print("  " + line)
    return 0


def excluding_upload(lines):
    """The issue's own measure (#17: "p99 of submission excluding upload"): the accepted submissions' time at the
    server less their upload phase, over every line given (the whole run, or its measured pass with --since)."""
    values = []
    for _, _, m in lines:
        method, path, status, total, phases, _ = m.groups()
        if method != "POST" or path.split("?")[0] != "/api/v1/builds" or status != "202":
            continue
        upload = sum(float(p.split("=")[1]) for p in phases.split() if p.startswith("upload="))
        values.append(float(total) - upload)
    if values:
        print(f"accepted submissions at the server, excluding the upload: p50 {pct(values, 50):.1f}"
              f"  p99 {pct(values, 99):.1f}  max {max(values):.1f} ms (n={len(values)}; target p99 200)")
    late_refusals(lines)


def late_refusals(lines):
    """The team-quota refusals that came after the upload: at the recount (they paid the upload) or in the record
    under the team's lock (they paid the upload, the policy check and the re-pack). The check before the upload
    counts every replica's submissions under way (SharedQuotaReservations), so these should be few."""
    recount = commit = 0
    for _, _, m in lines:
        method, path, status, _, phases, _ = m.groups()
        if method != "POST" or path.split("?")[0] != "/api/v1/builds" or status != "429":
            continue
        names = {p.split("=")[0] for p in phases.split()}
        if names & {"lint", "batch", "lock"}:
            commit += 1
        elif "upload" in names:
            recount += 1
    print(f"429s after the upload: {recount} at the recount (paid the upload), {commit} when recorded (paid the"
          f" upload, the policy check and the re-pack)")


def main(args):
    slow = 0
    split = None
    since = None
    while args[:1] in (["--slow"], ["--split"], ["--since"]):
        if args[0] == "--slow":
            slow = int(args[1])
        elif args[0] == "--split":
            split = float(args[1])
        else:
            since = float(open(args[1]).read()) if not args[1].replace(".", "").isdigit() else float(args[1])
        args = args[2:]
    lines = read(args)
    if since is not None:
        lines = [line for line in lines if line[0] is not None and line[0] >= since]
    excluding_upload(lines)
    if split is None:
        return summarise(lines, slow)
    stamped = [line for line in lines if line[0] is not None]
    if not stamped:
        print("no timestamps at the start of the timing lines: --split needs Spring Boot's default log pattern")
        return 1
    submissions = [at for at, _, m in stamped if m.group(1) == "POST" and m.group(2).split("?")[0] == "/api/v1/builds"]
    t0 = min(submissions) if submissions else min(at for at, _, _ in stamped)
    print(f"== started in the first {split:g} s (from the first submission's start) ==")
    summarise([line for line in stamped if t0 <= line[0] < t0 + split], slow)
    print(f"== started after the first {split:g} s ==")
    return summarise([line for line in stamped if line[0] >= t0 + split], slow)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
