#!/usr/bin/env python3
"""Failure detection and idle traffic of real `licmesh agent` processes on loopback.

Superseded by `licmesh bench detection` and `licmesh bench idle` (Benchmarks/README.md), which do
the same in Swift with percentiles, plots, JSON and clean-up on interrupt; kept as an independent
cross-check of their figures.

  detection: N agents (default 5) converge; one is killed with SIGKILL; the survivors' --events output
             gives the time from the kill to the first suspicion anywhere and to `dead` at every survivor.
             Repeated R times (default 10); medians printed.
  idle:      N agents (default 10) converge and settle; counters are read with SIGUSR1 twice, W seconds
             apart (default 60); bytes sent per second per node, over UDP and in total (UDP + TCP push-pull).

Times come from the agents' own `at_ms` (CLOCK_MONOTONIC) and time.monotonic_ns() here, which is the
same clock on Linux. Only processes this script started are signalled, by their PID.

Usage: agent_detection.py [--binary .build/debug/licmesh] [--profile lan] [detection|idle|both]
"""
import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time


def parse_line(line):
    """One `event=... key=value` logfmt line into a dict (values with quotes handled simply)."""
    fields, rest = {}, line.strip()
    while rest:
        key, sep, rest = rest.partition("=")
        if not sep:
            break
        if rest.startswith('"'):
            value, _, rest = rest[1:].partition('"')
        else:
            value, _, rest = rest.partition(" ")
        fields[key.strip()] = value
        rest = rest.lstrip()
    return fields if "event" in fields else None


def now_ms():
    return time.monotonic_ns() / 1e6


class Agent:
    def __init__(self, binary, node_id, args):
        self.id = "%016x" % node_id
        self.events = []
        self.lock = threading.Lock()
        self.proc = subprocess.Popen(
            [binary, "agent", "--id", self.id, "--events", "--log-level", "error"] + args,
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, text=True, errors="replace")
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            fields = parse_line(line)
            if fields:
                with self.lock:
                    self.events.append(fields)

    def find(self, name, member=None):
        with self.lock:
            return [e for e in self.events if e["event"] == name and (member is None or e.get("member") == member)]

    def address(self):
        started = self.find("started")
        return started[0]["address"] if started else None

    def signal(self, number):
        if self.proc.poll() is None:
            self.proc.send_signal(number)

    def stop(self, timeout=15):
        self.signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def wait_for(condition, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.01)
    raise RuntimeError("timed out waiting for " + what)


def start_cluster(binary, count, base_id, common):
    """Starts and joins `count` agents; stops them all again if they do not converge."""
    agents = [Agent(binary, base_id, common)]
    try:
        wait_for(lambda: agents[0].address(), 10, "the first agent to start")
        seed = agents[0].address()
        for i in range(1, count):
            agents.append(Agent(binary, base_id + i, common + ["--seed-node", seed]))
        ids = [a.id for a in agents]
        missing = lambda: {a.id: [i for i in ids if i != a.id and not a.find("joined", i)] for a in agents}
        try:
            wait_for(lambda: not any(missing().values()), 60, "convergence")
        except RuntimeError:
            raise RuntimeError("no convergence; joined events missing: %s" % {k: v for k, v in missing().items() if v})
        return agents
    except BaseException:
        for a in agents:
            a.stop()
        raise


def detection(binary, common, nodes, runs):
    firsts, lasts, medians = [], [], []
    for run in range(runs):
        agents = start_cluster(binary, nodes, 0xD000 + run * 0x10, common)
        try:
            time.sleep(3)  # past the joins' push-pulls, into the steady probing rhythm
            victim = agents[1 + run % (nodes - 1)]
            survivors = [a for a in agents if a is not victim]
            killed_at = now_ms()
            victim.signal(signal.SIGKILL)
            wait_for(lambda: all(a.find("dead", victim.id) for a in survivors), 120, "every survivor to confirm the death")
            suspected = [int(e["at_ms"]) for a in survivors for e in a.find("suspected", victim.id)]
            dead = [int(a.find("dead", victim.id)[0]["at_ms"]) for a in survivors]
            first = min(suspected) - killed_at if suspected else float("nan")
            firsts.append(first)
            lasts.append(max(dead) - killed_at)
            medians.append(statistics.median(dead) - killed_at)
            print("run %2d: first suspicion %6.0f ms, dead at every survivor %6.0f ms (median survivor %6.0f ms, first %6.0f ms)"
                  % (run + 1, first, max(dead) - killed_at, statistics.median(dead) - killed_at, min(dead) - killed_at), flush=True)
        finally:
            for a in agents:
                a.stop()
    print("median of %d runs: first suspicion %.0f ms; dead at every survivor %.0f ms; dead at the median survivor %.0f ms"
          % (runs, statistics.median(firsts), statistics.median(lasts), statistics.median(medians)))


def idle(binary, common, nodes, window):
    agents = start_cluster(binary, nodes, 0xE000, common)
    try:
        time.sleep(5)

        def snapshot():
            before = {a.id: len(a.find("counters")) for a in agents}
            for a in agents:
                a.signal(signal.SIGUSR1)
            wait_for(lambda: all(len(a.find("counters")) > before[a.id] for a in agents), 10, "counters")
            return {a.id: a.find("counters")[-1] for a in agents}

        first = snapshot()
        time.sleep(window)
        second = snapshot()
        udp, total, udp_in = [], [], []
        for a in agents:
            c0, c1 = first[a.id], second[a.id]
            seconds = (int(c1["at_ms"]) - int(c0["at_ms"])) / 1000
            delta = lambda key: int(c1[key]) - int(c0[key])
            udp.append(delta("udp_bytes_out") / seconds)
            udp_in.append(delta("udp_bytes_in") / seconds)
            total.append((delta("udp_bytes_out") + delta("tcp_bytes_out")) / seconds)
        print("idle traffic at %d nodes over %d s (bytes sent per second per node):" % (nodes, window))
        print("  UDP:              mean %.1f  median %.1f  min %.1f  max %.1f" % (statistics.mean(udp), statistics.median(udp), min(udp), max(udp)))
        print("  UDP + TCP sync:   mean %.1f  median %.1f" % (statistics.mean(total), statistics.median(total)))
        print("  UDP received:     mean %.1f" % statistics.mean(udp_in))
        sample = second[agents[0].id]
        print("  per kind at node %s (packets/bytes out since start): %s" % (agents[0].id, " ".join(
            "%s=%s" % (k, v) for k, v in sample.items() if k.startswith("udp_") and k.endswith("_out"))))
    finally:
        for a in agents:
            a.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", nargs="?", default="both", choices=["detection", "idle", "both"])
    parser.add_argument("--binary", default=".build/debug/licmesh")
    parser.add_argument("--profile", default="lan")
    parser.add_argument("--plain", action="store_true", help="no encryption (default: a fresh gossip key)")
    parser.add_argument("--nodes", type=int, default=None, help="default 5 for detection, 10 for idle")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--window", type=int, default=60)
    options = parser.parse_args()
    if not os.access(options.binary, os.X_OK):
        sys.exit("no licmesh binary at %s; run 'swift build' first or pass --binary" % options.binary)

    with tempfile.TemporaryDirectory() as directory:
        common = ["--bind", "127.0.0.1:0", "--profile", options.profile, "--cluster", "bench"]
        if options.plain:
            common.append("--insecure-plain")
        else:
            key = os.path.join(directory, "gossip.key")
            subprocess.run([options.binary, "keygen-gossip", "--out", key], check=True, stderr=subprocess.DEVNULL)
            common += ["--gossip-key", key]
        if options.what in ("detection", "both"):
            detection(options.binary, common, options.nodes or 5, options.runs)
        if options.what in ("idle", "both"):
            idle(options.binary, common, options.nodes or 10, options.window)


if __name__ == "__main__":
    main()
