#!/usr/bin/env python3
"""Hostile clients on loopback, bounded in count and time: slowloris connections that send a
request header one byte at a time and never finish it, and half-open connections that
connect and send nothing. A connection the server closes is opened again at once, so the
pressure lasts the whole run (at most 100,000 opens). Reports how many the server closed and
how soon.

Usage: slow_clients.py PORT [SLOW=500] [IDLE=500] [SECONDS=20] [BYTE_EVERY=1.0]
"""
import selectors
import socket
import sys
import time


def main():
    port = int(sys.argv[1])
    slow_n = int(sys.argv[2]) if len(sys.argv) > 2 else 500
    idle_n = int(sys.argv[3]) if len(sys.argv) > 3 else 500
    seconds = float(sys.argv[4]) if len(sys.argv) > 4 else 20.0
    every = float(sys.argv[5]) if len(sys.argv) > 5 else 1.0
    header = b"GET /ok HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100000
    sel = selectors.DefaultSelector()
    opened = {}  # socket -> [kind, opened_at, bytes_sent]
    counts = {"refused": 0, "opens": 0}

    def open_one(kind):
        if counts["opens"] >= 100000:
            return
        counts["opens"] += 1
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        try:
            s.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        except OSError:
            counts["refused"] += 1
            s.close()
            return
        opened[s] = [kind, time.monotonic(), 0]
        sel.register(s, selectors.EVENT_READ)

    for i in range(slow_n + idle_n):
        open_one("slow" if i < slow_n else "idle")
    closed = {"slow": [], "idle": []}
    start = time.monotonic()
    next_byte = start
    while time.monotonic() - start < seconds and opened:
        now = time.monotonic()
        if now >= next_byte:
            for s, st in list(opened.items()):
                if st[0] == "slow":
                    try:
                        s.send(header[st[2]:st[2] + 1])
                        st[2] += 1
                    except OSError:
                        pass
            next_byte = now + every
        for key, _ in sel.select(timeout=0.05):
            s = key.fileobj
            try:
                data = s.recv(4096)
            except OSError:
                data = b""
            if not data:  # the server closed it: open another in its place
                st = opened.pop(s)
                closed[st[0]].append(time.monotonic() - st[1])
                sel.unregister(s)
                s.close()
                open_one(st[0])
    for s in opened:
        s.close()
    refused = counts["refused"]

    def describe(kind, n):
        times = sorted(closed[kind])
        if not times:
            return f"{kind}: {n} kept open, none closed by the server within {seconds:.0f} s"
        return (f"{kind}: {n} kept open, {len(times)} closed by the server "
                f"(median after {times[len(times) // 2]:.1f} s, last after {times[-1]:.1f} s)")
    print(describe("slow", slow_n))
    print(describe("idle", idle_n))
    if refused:
        print(f"connections refused outright: {refused}")


if __name__ == "__main__":
    main()
