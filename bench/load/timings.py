#!/usr/bin/env python3
"""Summarises the gateway's per-request timing log (logger io.buildgateway.timing at DEBUG; issue #17).

    bench/load/timings.py .state/load/gateway.log .state/load/gateway-b.log

Reads the lines `timing <METHOD> <path> <status> total=<ms> <phase>=<ms> ... [note]`, groups them by method, path
(ids replaced by {id}) and status class, and prints per group the count and p50 / p99 / max of the total and of each
phase, in milliseconds. With --slow N it also prints the N slowest requests as logged.
"""
import re
import sys

LINE = re.compile(r"timing (\S+) (\S+) (\d{3}) total=([\d.]+)((?: [a-z]+=[\d.]+)*)(?: (\S+))?\s*$")
ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|sha256:[0-9a-f]{64}")


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p / 100))]


def main(args):
    slow = 0
    if args[:1] == ["--slow"]:
        slow, args = int(args[1]), args[2:]
    groups = {}
    requests = []
    for name in args or ["/dev/stdin"]:
        with open(name, errors="replace") as f:
            for raw in f:
                m = LINE.search(raw)
                if not m:
                    continue
                method, path, status, total, phases, note = m.groups()
                key = (method, ID.sub("{id}", path.split("?")[0]), status[0] + "xx" + (" " + note if note else ""))
                g = groups.setdefault(key, {})
                g.setdefault("total", []).append(float(total))
                for part in phases.split():
                    phase, ms = part.split("=")
                    g.setdefault(phase, []).append(float(ms))
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


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
