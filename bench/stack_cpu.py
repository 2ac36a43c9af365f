#!/usr/bin/env python3
"""CPU time of the local stack's processes, grouped by component, from /proc.

  stack_cpu.py snapshot FILE        writes {component: cpu_seconds} and the time taken
  stack_cpu.py diff IDLE_A IDLE_B LOAD_A LOAD_B PAGES
                                    prints, per component, the CPU per page of the load
                                    window less the idle window's rate over as long a time

A component is a kind of process and, for the database servers, which node it is (the
data directory's name): PostgreSQL's per-connection and replication processes count
towards their postmaster's node. Processes that start and end between two snapshots are
missed (the stack's connections are pooled, so few do). Only /proc is read.
"""
import json
import os
import re
import sys
import time

TICK = os.sysconf("SC_CLK_TCK")
NODE_DIR = re.compile(r"/((?:medical|admin|portal)-db-(?:primary|replica|standby))/")


def read(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return None


def processes():
    """pid -> (ppid, comm, cmdline, cpu seconds)."""
    out = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        stat = read(f"/proc/{name}/stat")
        cmd = read(f"/proc/{name}/cmdline")
        if stat is None or cmd is None:
            continue
        stat = stat.decode(errors="replace")
        comm = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        ppid = int(fields[1])
        cpu = (int(fields[11]) + int(fields[12])) / TICK  # utime + stime
        out[int(name)] = (ppid, comm, cmd.replace(b"\0", b" ").decode(errors="replace"), cpu)
    return out


def component(pid, procs):
    ppid, comm, cmd, _ = procs[pid]
    if comm in ("mariadbd", "postgres"):
        # A PostgreSQL backend's command line is its title: find the postmaster's -D.
        seen = 0
        while pid in procs and seen < 4:
            m = NODE_DIR.search(procs[pid][2])
            if m:
                return ("mariadb " if comm == "mariadbd" else "postgres ") + m.group(1)
            pid = procs[pid][0]
            seen += 1
        return None
    names = {
        "patient-portal": "portal",
        "medgate": "medgate",
        "medgate-launche": "medgate-launcher",
        "medical-service": "medical-service",
        "admin-service": "admin-service",
        "db-monitor": "db-monitors",
        "etcd": "etcd",
        "prometheus": "prometheus",
        "wrk": "wrk (the load, not the stack)",
    }
    if comm in names:
        return names[comm]
    if "supervisord" in cmd:
        return "supervisord"
    return None


def snapshot(path):
    procs = processes()
    totals = {}
    for pid in procs:
        c = component(pid, procs)
        if c:
            totals[c] = totals.get(c, 0.0) + procs[pid][3]
    with open(path, "w") as f:
        json.dump({"at": time.monotonic(), "cpu": totals}, f)


def diff(idle_a, idle_b, load_a, load_b, pages):
    def load(p):
        with open(p) as f:
            return json.load(f)
    ia, ib, la, lb = (load(p) for p in (idle_a, idle_b, load_a, load_b))
    idle_s = ib["at"] - ia["at"]
    load_s = lb["at"] - la["at"]
    pages = float(pages)
    rows = []
    for c in sorted(set(lb["cpu"]) | set(la["cpu"])):
        used = lb["cpu"].get(c, 0.0) - la["cpu"].get(c, 0.0)
        idle_rate = (ib["cpu"].get(c, 0.0) - ia["cpu"].get(c, 0.0)) / idle_s if idle_s > 0 else 0
        rows.append((c, used, idle_rate, (used - idle_rate * load_s) * 1000 / pages))
    print(f"| component | CPU ms/page | CPU s in the run | idle CPU ms/s |")
    print("|---|---|---|---|")
    stack = 0.0
    for c, used, idle_rate, per_page in sorted(rows, key=lambda r: -r[3]):
        if not c.startswith("wrk"):
            stack += per_page
        print(f"| {c} | {per_page:.2f} | {used:.2f} | {idle_rate * 1000:.0f} |")
    print(f"| **the stack (all but wrk)** | **{stack:.2f}** | | |")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "snapshot":
        snapshot(sys.argv[2])
    elif len(sys.argv) == 7 and sys.argv[1] == "diff":
        diff(*sys.argv[2:])
    else:
        sys.exit(__doc__)
