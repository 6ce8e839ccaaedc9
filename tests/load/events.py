#!/usr/bin/env python3
"""Figures of the live event stream, against running instances.

    events.py A_URL B_URL A_PID ADMIN_EMAIL ADMIN_PASSWORD STREAMS

Prints, for instance A: commit-to-client latency on the same and on the
other instance, the memory each open stream costs, and how fast events reach
STREAMS clients at once. Standard library only; see events.sh.
"""

import http.client
import json
import os
import selectors
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse


def call(base, method, path, body=None, token=None):
    url = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    conn.request(method, path, body=None if body is None else json.dumps(body), headers=headers)
    response = conn.getresponse()
    data = json.loads(response.read() or b"null")
    conn.close()
    if response.status >= 300:
        sys.exit(f"{method} {path}: {response.status} {data}")
    return data


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


# What the stream reader counts: events, and which of them are `resync`.
MARKERS = (b"\nevent:", b"\nevent:resync")


class Streams:
    """Many event streams read by one thread, counting the events each gets."""

    def __init__(self, base, count, path="/api/events"):
        url = urllib.parse.urlsplit(base)
        self.selector = selectors.DefaultSelector()
        self.received = {}  # socket -> [events]
        self.lock = threading.Lock()
        self.resyncs = 0
        request = f"GET {path} HTTP/1.0\r\nHost: {url.hostname}\r\nAccept: text/event-stream\r\n\r\n".encode()
        for _ in range(count):
            sock = socket.create_connection((url.hostname, url.port))
            sock.sendall(request)
            sock.setblocking(False)
            self.selector.register(sock, selectors.EVENT_READ, data=[b"" for _ in MARKERS])
            self.received[sock] = [0]
        self.running = True
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        while self.running:
            for key, _ in self.selector.select(timeout=0.2):
                sock = key.fileobj
                try:
                    chunk = sock.recv(65536)
                except BlockingIOError:
                    continue
                if not chunk:
                    self.selector.unregister(sock)
                    continue
                # Counted in C with bytes.count; each marker keeps the bytes
                # a chunk may have cut it at.
                carries = key.data
                counts = []
                for index, marker in enumerate(MARKERS):
                    text = carries[index] + chunk
                    counts.append(text.count(marker))
                    carries[index] = text[-(len(marker) - 1):]
                events, resyncs = counts
                if events:
                    with self.lock:
                        self.received[sock][0] += events - resyncs
                        self.resyncs += resyncs

    def total(self):
        with self.lock:
            return sum(count for count, in self.received.values())

    def everyone_has(self, events):
        with self.lock:
            return all(count >= events for count, in self.received.values())

    def reset(self):
        with self.lock:
            for entry in self.received.values():
                entry[0] = 0

    def close(self):
        self.running = False
        self.thread.join()
        for sock in list(self.received):
            sock.close()


class Tracer(threading.Thread):
    """One stream that notes when each `item.updated` of a given price arrives."""

    def __init__(self, base, store_id):
        super().__init__(daemon=True)
        url = urllib.parse.urlsplit(base)
        self.conn = http.client.HTTPConnection(url.hostname, url.port)
        self.conn.request("GET", f"/api/events?store_id={store_id}")
        self.response = self.conn.getresponse()
        self.arrivals = {}
        self.start()

    def run(self):
        for raw in self.response:
            line = raw.decode().strip()
            if line.startswith("data:"):
                data = json.loads(line[5:])
                if data.get("kind") == "item.updated":
                    self.arrivals[data["object"]["price"]] = time.monotonic()


def latencies(a_url, b_url, token, store_id, item_id, changes=200):
    same, other = Tracer(a_url, store_id), Tracer(b_url, store_id)
    time.sleep(0.5)
    to_same, to_other = [], []
    for n in range(changes):
        price = 1000 + n
        sent = time.monotonic()
        call(a_url, "PUT", f"/api/items/{item_id}", {"price": f"{price}.00"}, token)
        acknowledged = time.monotonic()
        deadline = acknowledged + 5
        while (price not in same.arrivals or price not in other.arrivals) and time.monotonic() < deadline:
            time.sleep(0.0005)
        # Commit happens between sending and the acknowledgement: the
        # latency from commit lies between these two bounds.
        for tracer, into in ((same, to_same), (other, to_other)):
            arrival = tracer.arrivals.get(price)
            if arrival is not None:
                into.append(((arrival - acknowledged) * 1000, (arrival - sent) * 1000))
    return to_same, to_other


def describe(samples):
    lower = sorted(s[0] for s in samples)
    upper = sorted(s[1] for s in samples)
    p99 = lambda values: values[min(len(values) - 1, int(0.99 * len(values)))]
    return (f"p50 {statistics.median(upper):.1f} ms, p99 {p99(upper):.1f} ms "
            f"(from the acknowledgement: p50 {statistics.median(lower):.1f} ms, p99 {p99(lower):.1f} ms)")


def wrk(url, runs, seconds):
    results = []
    for _ in range(runs):
        output = subprocess.run(["wrk", "-t2", "-c32", f"-d{seconds}s", url],
                                capture_output=True, text=True, check=True).stdout
        results.append(float(next(line.split()[1] for line in output.splitlines()
                                  if line.startswith("Requests/sec"))))
    return statistics.median(results), results


def main():
    a_url, b_url, a_pid, email, password, streams = sys.argv[1:7]
    a_pid, streams = int(a_pid), int(streams)
    runs, seconds = int(os.environ.get("RUNS", "3")), int(os.environ.get("WRK_SECONDS", "10"))
    token = call(a_url, "POST", "/api/login", {"email": email, "password": password})["access_token"]
    store = call(a_url, "POST", "/api/stores", {"name": f"Events bench {time.time()}"}, token)
    item = call(a_url, "POST", "/api/items", {"name": "Probe", "price": "1.00", "store_id": store["id"]}, token)

    same, other = latencies(a_url, b_url, token, store["id"], item["id"])
    print(f"latency, change through A to a stream of A ({len(same)} changes): {describe(same)}")
    print(f"latency, change through A to a stream of B ({len(other)} changes): {describe(other)}")

    read = f"{a_url}/api/items/{item['id']}"
    wrk(read, 1, 3)  # warm-up
    idle_median, idle_runs = wrk(read, runs, seconds)
    print(f"GET /api/items/{{id}} without streams: median {idle_median:.0f} requests/s {idle_runs}")

    before = rss_kib(a_pid)
    opened = Streams(a_url, streams)
    time.sleep(2)
    after = rss_kib(a_pid)
    print(f"open streams on A: {streams}; RSS {before} KiB -> {after} KiB, "
          f"{(after - before) * 1024 / streams:.0f} bytes per stream")

    busy_median, busy_runs = wrk(read, runs, seconds)
    print(f"GET /api/items/{{id}} with {streams} idle streams open: median {busy_median:.0f} requests/s "
          f"{busy_runs}; {busy_median / idle_median:.2f} of the rate without them")

    # Fan-out: bursts of events committed at once (half the backlog each, so
    # that no stream need fall behind), each sent to every stream; the time
    # until every stream has the whole burst.
    events = int(os.environ.get("FANOUT_EVENTS", "500"))
    sample = "SELECT object FROM events WHERE kind = 'item.updated' ORDER BY id DESC LIMIT 1"
    insert = (f"INSERT INTO events (kind, entity_id, store_id, object) "
              f"SELECT 'item.updated', {item['id']}, {store['id']}, ({sample}) FROM generate_series(1, {events})")
    rates = []
    incomplete = 0
    for _ in range(runs):
        opened.reset()
        started = time.monotonic()
        subprocess.run(["psql", "-q", os.environ["DATABASE_URL"], "-c", insert], check=True)
        deadline = time.monotonic() + 60
        while not opened.everyone_has(events) and time.monotonic() < deadline:
            time.sleep(0.005)
        elapsed = time.monotonic() - started
        delivered = opened.total()
        if delivered < events * streams:
            print(f"fan-out: only {delivered} of {events * streams} deliveries within 60 s")
            incomplete += 1
        rates.append(delivered / elapsed)
        time.sleep(1)
    print(f"fan-out: bursts of {events} events committed at once to {streams} streams: median "
          f"{statistics.median(rates):.0f} events delivered per second {[round(r) for r in rates]}; "
          f"{opened.resyncs} resyncs")
    opened.close()
    if incomplete or not same or not other:
        sys.exit("events benchmark FAILED: events were not all delivered")


if __name__ == "__main__":
    main()
