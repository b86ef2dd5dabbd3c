#!/usr/bin/env python3
"""What a replica's JIT compilers did during a load run (issue #17: the compiler threads' CPU after the warm-up).

    bench/load/jitlog.py [--after SECONDS] [--top N] hotspot_pid<N>.log

Reads HotSpot's compilation log (-XX:+UnlockDiagnosticVMOptions -XX:+LogCompilation -XX:LogFile=...; written out
when the JVM exits) and prints, for the compilations queued after SECONDS of JVM uptime (default 0):
  - compilations per minute of uptime and per tier level;
  - the methods compiled most often (a method compiled again and again at the same level is in a loop of
    invalidation and recompilation), and the packages whose methods were compiled;
  - why compiled code was thrown away: uncommon traps by reason and action (deoptimisation), failed dependencies
    (class hierarchy changes, e.g. classes loaded or generated at run time), and code made not entrant without
    either (the code cache sweeper's flushing of "cold" code, or a tier's code replaced by the next tier's);
  - the code cache sweeper's sweeps, when logged;
  - how the compile tasks ended, per level: installed, or dropped (a "stale task" waited in the queue longer than
    -XX:TieredCompileTaskTimeout while its method was not called, and is queued again on the next calls).
"""
import re
import sys
from collections import Counter, defaultdict

ATTR = re.compile(r"(\w+)='([^']*)'")
TAG = re.compile(r"<(task_queued|nmethod|make_not_entrant|uncommon_trap|dependency_failed|sweeper|task |"
                 r"deoptimized|code_cache_full|flushed)")


def attrs(line):
    return dict(ATTR.findall(line))


def package(method):
    cls = method.split(" ")[0].replace("/", ".")
    parts = cls.split(".")
    return ".".join(parts[:3]) if len(parts) > 3 else ".".join(parts[:-1]) or cls


def main(argv):
    after, top, files = 0.0, 25, []
    i = 0
    while i < len(argv):
        if argv[i] == "--after":
            after = float(argv[i + 1])
            i += 2
        elif argv[i] == "--top":
            top = int(argv[i + 1])
            i += 2
        else:
            files.append(argv[i])
            i += 1
    for name in files:
        report(name, after, top)


def report(name, after, top):
    queued = []  # (stamp, level, method)
    level_of = {}  # compile_id -> (level, method)
    not_entrant = []  # (stamp, compile_id, level)
    traps = Counter()
    trap_methods = Counter()
    deps = Counter()
    sweeps = 0
    done = Counter()  # (level, outcome): compile tasks ended after SECONDS (outcome: ok or the failure's reason)
    task = None
    with open(name, errors="replace") as f:
        pending_trap = None
        for line in f:
            if line.startswith("<task "):
                task = attrs(line)
                continue
            if task is not None and line.startswith("<failure"):
                task["failure"] = attrs(line).get("reason", "?")
                continue
            if task is not None and line.startswith("<task_done"):
                a = attrs(line)
                if float(a.get("stamp", "0") or 0) >= after:
                    outcome = "ok" if a.get("success") == "1" else task.get("failure", "failed")
                    done[(task.get("level", "4"), outcome)] += 1
                task = None
                continue
            m = TAG.search(line)
            if pending_trap is not None and "<jvms" in line:
                a = attrs(line)
                trap_methods[(pending_trap, a.get("method", "?"))] += 1
                pending_trap = None
                continue
            if not m:
                continue
            kind = m.group(1).strip()
            a = attrs(line)
            stamp = float(a.get("stamp", "0") or 0)
            if kind == "task_queued":
                level_of[a.get("compile_id")] = (a.get("level", "4" if "osr_bci" not in a else "4"),
                                                 a.get("method", "?"))
                if stamp >= after:
                    queued.append((stamp, a.get("level", "?"), a.get("method", "?")))
            elif kind == "make_not_entrant" and stamp >= after:
                not_entrant.append((stamp, a.get("compile_id"), a.get("level", "?")))
            elif kind == "uncommon_trap" and stamp >= after and "reason" in a and "thread" in a:
                key = (a.get("reason"), a.get("action"))
                traps[key] += 1
                pending_trap = key
            elif kind == "dependency_failed" and stamp >= after:
                deps[(a.get("type"), a.get("ctxk", "?"), a.get("witness", "?"))] += 1
            elif kind == "sweeper" and stamp >= after:
                sweeps += 1
    print(f"== {name}: after {after:.0f} s of uptime")
    if not queued:
        print("no compilations queued")
        return
    first, last = queued[0][0], queued[-1][0]
    print(f"{len(queued)} compilations queued from {first:.0f} s to {last:.0f} s; by level:",
          dict(sorted(Counter(q[1] for q in queued).items())))
    per_minute = Counter(int(q[0] // 60) for q in queued)
    print("per minute of uptime:", " ".join(f"{m}:{per_minute[m]}" for m in sorted(per_minute)))
    by_method = Counter((q[2], q[1]) for q in queued)
    print(f"methods compiled most often (method, level: times) of {len(by_method)} distinct:")
    for (method, level), n in by_method.most_common(top):
        print(f"  {n:4d}  L{level}  {method}")
    print("packages (compilations):")
    for pkg, n in Counter(package(q[2]) for q in queued).most_common(top):
        print(f"  {n:5d}  {pkg}")
    print(f"made not entrant: {len(not_entrant)}; by level:", dict(sorted(Counter(x[2] for x in not_entrant).items())))
    ne_methods = Counter(level_of.get(cid, ("?", "?"))[1] for _, cid, _ in not_entrant)
    print("methods made not entrant most often:")
    for method, n in ne_methods.most_common(top):
        print(f"  {n:4d}  {method}")
    print(f"uncommon traps: {sum(traps.values())}")
    for (reason, action), n in traps.most_common(top):
        print(f"  {n:5d}  reason={reason} action={action}")
    print("  at (reason, action, method):")
    for ((reason, action), method), n in trap_methods.most_common(top):
        print(f"  {n:5d}  {reason}/{action}  {method}")
    print(f"dependencies failed: {sum(deps.values())}")
    for (kind, ctxk, witness), n in deps.most_common(top):
        print(f"  {n:5d}  {kind} ctxk={ctxk} witness={witness}")
    print(f"sweeper entries: {sweeps}")
    print("compile tasks ended (level, outcome: count; 'stale task': dropped from the queue unused, the method was not"
          " called within TieredCompileTaskTimeout while it waited):")
    for (level, outcome), n in sorted(done.items()):
        print(f"  L{level} {outcome}: {n}")


if __name__ == "__main__":
    main(sys.argv[1:])
