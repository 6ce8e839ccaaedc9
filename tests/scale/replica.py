"""Reads from the streaming replica, as the instances of run.sh do them.

check.py calls `check_replica` with the two instances still up. Where a read
went is told by the instances' own log lines (JSON, one per request):
`replica_reads` and `primary_reads` count the reads of a request that a
replica, or the primary instead of one, answered; neither means the read
cache answered. The replica is controlled with the cluster command of
run.sh (SCALE_CLUSTER): stopped, started, and delayed past the bound.
"""

import json
import os
import subprocess
import threading
import time
import urllib.parse
import http.client

DELAY = 1.5  # the replica's apply delay, as run.sh starts it
MAX_LAG = 3.0  # ROCKET_REPLICA_MAX_LAG_MS of run.sh


def fail(message):
    print(f"FAIL: {message}", flush=True)
    raise SystemExit(1)


def check(condition, message):
    if not condition:
        fail(message)


class Logs:
    """The instances' log files, read from a mark on."""

    def __init__(self, paths):
        self.paths = paths
        self.mark()

    def mark(self):
        self.offsets = {path: os.path.getsize(path) for path in self.paths}

    def lines(self):
        """Log lines written since the mark, as dictionaries."""
        found = []
        for path, offset in self.offsets.items():
            with open(path, "rb") as log:
                log.seek(offset)
                for raw in log:
                    try:
                        found.append(json.loads(raw))
                    except ValueError:
                        pass
        return found

    def requests(self, marker=""):
        return [line for line in self.lines() if line.get("message") == "request" and marker in line.get("path", "")]

    def said(self, text):
        return any(text in line.get("message", "") for line in self.lines())


def where(lines):
    """Reads answered by the replica, by the primary, and requests the cache answered."""
    replica = sum(line.get("replica_reads", 0) for line in lines)
    primary = sum(line.get("primary_reads", 0) for line in lines)
    cached = sum(1 for line in lines if not line.get("replica_reads") and not line.get("primary_reads"))
    return replica, primary, cached


def timed_get(base, path, token=None):
    """(status, seconds) of one GET; status 0 when the connection failed."""
    url = urllib.parse.urlsplit(base)
    started = time.monotonic()
    try:
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=15)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        response.read()
        conn.close()
        status = response.status
    except OSError:
        status = 0
    return status, time.monotonic() - started


def cluster(*command):
    subprocess.run(os.environ["SCALE_CLUSTER"].split() + list(command), check=True)


class Load:
    """Anonymous readers, a reader with a token and a writer, through the
    balancer, until stopped; every answer's status and time is kept."""

    def __init__(self, balancer, lb, token, store_id, item_id, readers=3, write_every=0.05, token_reader=True):
        self.balancer, self.lb, self.token = balancer, lb, token
        self.store_id, self.item_id = store_id, item_id
        self.stop_event = threading.Event()
        self.answers = []  # (at, status, seconds, path)
        self.lock = threading.Lock()
        self.write_every = write_every
        self.threads = [threading.Thread(target=self.read, args=(n, None)) for n in range(readers)]
        if token_reader:
            self.threads.append(threading.Thread(target=self.read, args=(readers, token)))
        if write_every:
            self.threads.append(threading.Thread(target=self.write))
        for thread in self.threads:
            thread.start()

    def paths(self, n, round_):
        yield f"/api/items?store_id={self.store_id}"
        yield f"/api/items/{self.item_id}"
        yield f"/stores/{self.store_id}"
        yield f"/api/items?limit=50&q=mix{n}x{round_}"

    def read(self, n, token):
        round_ = 0
        while not self.stop_event.is_set():
            round_ += 1
            for path in self.paths(n, round_):
                status, seconds = timed_get(self.balancer, path, token)
                with self.lock:
                    self.answers.append((time.monotonic(), status, seconds, path))

    def write(self):
        n = 0
        while not self.stop_event.is_set():
            n += 1
            started = time.monotonic()
            try:
                status, _, _ = self.lb.call("PUT", f"/api/items/{self.item_id}", {"price": f"{n % 500 + 1}.25"})
            except OSError:
                status = 0
            with self.lock:
                self.answers.append((time.monotonic(), status, time.monotonic() - started, "PUT"))
            time.sleep(self.write_every)

    def stop(self):
        self.stop_event.set()
        for thread in self.threads:
            thread.join()
        return self.answers


def probe(balancer, logs, label, count=20):
    """`count` anonymous reads the cache cannot answer; where they went."""
    marker = f"probe-{label}-{time.monotonic_ns()}"
    logs.mark()
    for n in range(count):
        status, _ = timed_get(balancer, f"/api/items?limit=50&q={marker}-{n}")
        check(status == 200, f"probe read: {status}")
    time.sleep(0.2)  # the last log lines
    lines = logs.requests(marker)
    check(len(lines) == count, f"{len(lines)} log lines for {count} probe reads")
    return where(lines)


def wait_for_replica_reads(balancer, logs, label, timeout=20.0):
    """Seconds until probe reads are served by the replica again."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        replica, _, _ = probe(balancer, logs, label, count=5)
        if replica == 5:
            return time.monotonic() - started
        time.sleep(0.25)
    fail(f"reads did not go back to the replica within {timeout:.0f} s ({label})")


def anonymous_reads_converge(writer, reader_base, item_id, rounds=20):
    """A price changed through one instance, then read anonymously through
    the other until it shows: with the replica 1.5 s behind, a read that
    filled the cache from it after the change's event would keep the old
    price for good (no later event would drop it)."""
    waits, stale_reads = [], 0
    for n in range(rounds):
        price = f"{n + 700}.50"
        status, _, _ = writer.call("PUT", f"/api/items/{item_id}", {"price": price})
        check(status == 200, f"change {n}: {status}")
        sent = time.monotonic()
        while True:
            url = urllib.parse.urlsplit(reader_base)
            conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
            conn.request("GET", f"/api/items/{item_id}")
            body = json.loads(conn.getresponse().read())
            conn.close()
            if body["price"] == float(price):
                break
            stale_reads += 1
            check(time.monotonic() - sent < DELAY * 3, f"an anonymous reader still sees {body['price']} "
                  f"{DELAY * 3:.1f} s after the change to {price}: a stale answer was kept")
            time.sleep(0.01)
        waits.append(time.monotonic() - sent)
    return max(waits), stale_reads


def check_replica(balancer, lb, token, store_id, item_id, writer, reader_base):
    logs = Logs(os.environ["SCALE_LOGS"].split())

    slowest, stale_reads = anonymous_reads_converge(writer, reader_base, item_id)
    print(f"ok: 20 changes through A read anonymously through B until shown: {stale_reads} reads before "
          f"the change's event arrived, the new price after {slowest * 1000:.0f} ms at most; "
          f"nothing older was kept")

    # Quiet for longer than the apply delay: anonymous reads go to the replica.
    time.sleep(DELAY + 1.0)
    replica, primary, _ = probe(balancer, logs, "quiet")
    check(replica == 20 and primary == 0, f"anonymous reads when quiet: {replica} replica, {primary} primary")
    print(f"ok: 20 anonymous reads after {DELAY + 1.0:.1f} s without writes: all 20 served by the replica")

    # A mixed load: where anonymous reads are answered from.
    logs.mark()
    load = Load(balancer, lb, token, store_id, item_id, write_every=0.1, token_reader=False)
    time.sleep(4.0)
    answers = load.stop()
    time.sleep(0.2)
    anonymous = [line for line in logs.requests() if line.get("method") == "GET"]
    replica, primary, cached = where(anonymous)
    errors = [a for a in answers if a[1] >= 500 or a[1] == 0]
    check(not errors, f"errors under the mixed load: {errors[:3]}")
    total = len(anonymous)
    print(f"ok: mixed load for 4 s (3 anonymous readers, a write every 0.1 s): "
          f"{total} anonymous reads: {cached} from the cache, {replica} from the replica, {primary} from "
          f"the primary (with the replica {DELAY} s behind while writes go on, a replica read would be "
          f"older than what the instance has announced; the primary answers those)")
    time.sleep(DELAY + 1.0)
    replica, _, _ = probe(balancer, logs, "after-mix")
    check(replica == 20, f"after the mixed load, only {replica} of 20 probe reads from the replica")

    # The replica stopped and started under load: no error, reads move to
    # the primary and back.
    load = Load(balancer, lb, token, store_id, item_id, write_every=0.2)
    time.sleep(1.0)
    stopped_at = time.monotonic()
    cluster("replica_stop")
    time.sleep(0.5)  # reads under way when it stopped end
    logs.mark()
    time.sleep(2.5)
    during = logs.requests()
    cluster("replica_start")
    started = time.monotonic()
    time.sleep(2.0)
    answers = load.stop()
    errors = [a for a in answers if a[1] >= 500 or a[1] == 0]
    check(not errors, f"answers while the replica stopped and started: {errors[:5]}")
    while_stopped = [a for a in answers if stopped_at <= a[0] <= started]
    slowest = max(a[2] for a in while_stopped)
    replica_during, primary_during, _ = where(during)
    check(replica_during == 0 and primary_during > 0,
          f"reads while the replica was down: {replica_during} replica, {primary_during} primary")
    came_back = wait_for_replica_reads(balancer, logs, "restarted")
    statuses = sorted({a[1] for a in answers})
    print(f"ok: replica stopped for 3 s under load: {len(while_stopped)} answers meanwhile, statuses "
          f"{statuses}, 0 × 5xx, slowest {slowest * 1000:.0f} ms; {primary_during} reads went to the primary "
          f"and none to the replica; back on the replica {came_back:.1f} s after the probes began")

    # Delayed past the bound under writes: the instances stop using it,
    # and use it again once it is back within the bound.
    logs.mark()
    cluster("replica_delay", "6s")
    load = Load(balancer, lb, token, store_id, item_id, readers=1, write_every=0.05)
    deadline = time.monotonic() + 12
    while time.monotonic() < deadline and not logs.said("lags more than replica_max_lag_ms"):
        time.sleep(0.1)
    skipped = logs.said("lags more than replica_max_lag_ms")
    answers = load.stop()
    check(skipped, "no instance skipped the replica delayed 6 s (bound 3 s)")
    replica, primary, _ = probe(balancer, logs, "lagging")
    check(replica == 0 and primary == 20, f"reads of a replica past the bound: {replica} replica, {primary} primary")
    errors = [a for a in answers if a[1] >= 500 or a[1] == 0]
    check(not errors, f"errors while the replica lagged: {errors[:3]}")
    cluster("replica_delay", f"{int(DELAY * 1000)}ms")
    came_back = wait_for_replica_reads(balancer, logs, "within-bound")
    print(f"ok: replica delayed 6 s under writes (bound {MAX_LAG:.0f} s): skipped, 20 of 20 probe reads "
          f"from the primary, 0 errors; back on the replica {came_back:.1f} s after its delay was restored")
