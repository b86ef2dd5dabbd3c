#!/usr/bin/env python3
"""Where the CPU goes during a load run (issue #17): samples /proc every INTERVAL seconds until STOP_FILE exists,
then prints CPU seconds and shares per process group and, inside each gateway JVM, per thread group.

    bench/load/cpu.py OUT STOP_FILE INTERVAL name=pid [name=pid ...]

Processes are grouped by ancestry: a named pid (a gateway replica, the load client) and everything it started
(OpenSCAP, shellcheck, ...: by command name under it), postgres, dockerd, containerd, the containers' processes
(everything under a containerd-shim: the builds' RUN steps), the registry, this sampler, and "other" (everything
else on the machine: other users of a shared VM). A process that starts and ends between two samples is not seen;
its time shows up in its parent's children's time, which is reported apart ("reaped, unattributed"). Thread groups:
the thread's name with digits replaced by '#'. Clock ticks are read from /proc/<pid>/stat (utime + stime).
"""
import os
import re
import sys
import time

TICK = os.sysconf("SC_CLK_TCK")


def read_stat(path):
    try:
        with open(path, "rb") as f:
            raw = f.read().decode("latin-1")
    except OSError:
        return None
    close = raw.rfind(")")
    comm = raw[raw.find("(") + 1:close]
    fields = raw[close + 2:].split()
    # fields[0] = state, [1] = ppid, [11] = utime, [12] = stime, [13] = cutime, [14] = cstime
    return comm, int(fields[1]), int(fields[11]) + int(fields[12]), int(fields[13]) + int(fields[14])


def cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode("latin-1")
    except OSError:
        return ""


def total_busy():
    with open("/proc/stat") as f:
        parts = f.readline().split()[1:]
    values = [int(v) for v in parts]
    idle = values[3] + values[4]
    return sum(values[:8]) - idle, sum(values[:8])


def main(args):
    out, stop, interval = args[0], args[1], float(args[2])
    named = {}
    for a in args[3:]:
        name, pid = a.split("=", 1)
        if pid.strip():
            named[int(pid)] = name
    procs = {}  # pid -> [comm, ppid, first ticks, last ticks, cmd, cutime first, cutime last]
    threads = {}  # (pid, tid) -> [name, first, last]
    me = os.getpid()
    busy0, all0 = total_busy()
    start = time.time()
    first_round = True
    samples = 0
    while True:
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            pid = int(entry)
            st = read_stat(f"/proc/{pid}/stat")
            if st is None:
                continue
            comm, ppid, ticks, cticks = st
            p = procs.get(pid)
            if p is None or p[0] != comm and p[1] != ppid:
                procs[pid] = [comm, ppid, ticks if first_round else 0, ticks, cmdline(pid), cticks if first_round
                              else 0, cticks]
            else:
                p[3] = ticks
                p[6] = cticks
                p[0] = comm
            if pid in named and named[pid].startswith("gateway"):
                try:
                    tids = os.listdir(f"/proc/{pid}/task")
                except OSError:
                    tids = []
                for tid in tids:
                    ts = read_stat(f"/proc/{pid}/task/{tid}/stat")
                    if ts is None:
                        continue
                    key = (pid, int(tid))
                    t = threads.get(key)
                    if t is None:
                        threads[key] = [ts[0], ts[2] if first_round else 0, ts[2]]
                    else:
                        t[0] = ts[0]
                        t[2] = ts[2]
        first_round = False
        samples += 1
        if os.path.exists(stop):
            break
        time.sleep(interval)
    busy1, all1 = total_busy()
    elapsed = time.time() - start

    def root(pid):
        seen = 0
        while pid in procs and seen < 64:
            if pid in named:
                return named[pid], True
            comm, ppid = procs[pid][0], procs[pid][1]
            if pid == me:
                return "sampler (this script)", True
            if comm.startswith("containerd-shim"):
                return "containers (build steps)", True
            pid, seen = ppid, seen + 1
        return None, False

    groups = {}
    for pid, (comm, ppid, first, last, cmd, cfirst, clast) in procs.items():
        used = last - first
        owner, found = root(pid)
        if found and owner in named.values() and pid not in named:
            key = f"{owner}: {comm}"
        elif found and pid in named:
            key = owner
        elif found:
            key = owner
        elif comm.startswith("postgres"):
            key = "postgres"
        elif comm == "dockerd":
            key = "dockerd"
        elif comm.startswith("containerd"):
            key = "containerd"
        elif comm == "registry":
            key = "registry"
        elif "LoadClient" in cmd:
            key = "load client"
        else:
            key = "other: " + comm
        groups[key] = groups.get(key, 0) + used
    busy = busy1 - busy0
    capacity = all1 - all0
    seen = sum(groups.values())
    lines = [f"cpu: {elapsed:.0f} s sampled every {interval} s ({samples} samples), {os.cpu_count()} cores;"
             f" busy {busy / TICK:.1f} CPU-s of {capacity / TICK:.1f} ({100 * busy / max(1, capacity):.0f} %);"
             f" attributed to processes seen {seen / TICK:.1f} CPU-s"]
    others = sum(v for k, v in groups.items() if k.startswith("other: "))
    rows = sorted(((v, k) for k, v in groups.items() if not k.startswith("other: ")), reverse=True)
    rows.append((others, "other (not this bench: " + ", ".join(
        k[7:] for v, k in sorted(((v, k) for k, v in groups.items() if k.startswith("other: ")), reverse=True)[:6]
        if v > 0) + ")"))
    rows.append((busy - seen, "unattributed (processes shorter than one sample, kernel)"))
    for v, k in rows:
        if v / TICK >= 0.05:
            lines.append(f"  {100 * v / max(1, busy):5.1f} %  {v / TICK:8.1f} CPU-s  {k}")
    for pid, name in sorted(named.items(), key=lambda x: x[1]):
        if pid in procs:
            reaped = procs[pid][6] - procs[pid][5]
            lines.append(f"  ({name}'s ended children, seen above or not: {reaped / TICK:.1f} CPU-s)")
    for pid, name in sorted(named.items(), key=lambda x: x[1]):
        if not name.startswith("gateway"):
            continue
        tg = {}
        for (p, _), (tname, first, last) in threads.items():
            if p != pid:
                continue
            g = re.sub(r"\d+", "#", tname)
            tg[g] = tg.get(g, 0) + last - first
        total = sum(tg.values())
        lines.append(f"{name} threads ({total / TICK:.1f} CPU-s):")
        for v, g in sorted(((v, g) for g, v in tg.items()), reverse=True):
            if v / TICK >= 0.05:
                lines.append(f"  {100 * v / max(1, total):5.1f} %  {v / TICK:8.1f} CPU-s  {g}")
    text = "\n".join(lines) + "\n"
    with open(out, "w") as f:
        f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
