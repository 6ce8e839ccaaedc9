#!/usr/bin/env python3
"""Webhook figures, against a running Storefront (see webhooks.sh).

    webhooks.py BASE_URL DATABASE_URL EMAIL PASSWORD SERVER_PID BACKLOG

1. Latency: items created one after another (20 a second); for each, the
   time from the API's answer (the commit is just before it) to the
   delivery's arrival at a receiver on loopback. p50 and p99.
2. Backlog: the receiver answers 503, so the endpoint's first delivery is
   retried and BACKLOG more wait behind it; the server's memory then.
3. Throughput: the receiver answers 204 and the wait is cut short; how long
   the backlog takes to drain, in deliveries a second.

Every delivery is verified by the receiver with the Standard Webhooks
specification's own Python library (`standardwebhooks`), as a shop's
backend would; the run fails if one does not verify. Besides it, the
standard library only, and psql.
"""

import http.client
import json
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook

base, database_url, email, password, pid, backlog = sys.argv[1:7]
backlog = int(backlog)
LATENCY_ITEMS = 200


class Receiver(BaseHTTPRequestHandler):
    status = 204
    verifier = None
    arrivals = {}  # entity_id -> first arrival (monotonic)
    count = 0
    unverified = 0
    lock = threading.Lock()

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        now = time.monotonic()
        try:
            event = Receiver.verifier.verify(body, dict(self.headers.items()))
        except Exception:  # noqa: BLE001 - counted, and the run fails on it
            with Receiver.lock:
                Receiver.unverified += 1
            self.send_response(400)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        with Receiver.lock:
            Receiver.count += 1
            Receiver.arrivals.setdefault(event["entity_id"], now)
        self.send_response(Receiver.status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def api(method, path, body=None, token=None):
    url = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    conn.request(method, path, body=None if body is None else json.dumps(body), headers=headers)
    response = conn.getresponse()
    text = response.read().decode()
    conn.close()
    return response.status, (json.loads(text) if text else None)


def sql(statement):
    out = subprocess.run(["psql", "-qAt", database_url, "-c", statement], check=True, capture_output=True, text=True)
    return out.stdout.strip()


def rss_mib():
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def wait_until(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            sys.exit(f"FAIL: {what} within {timeout} s")
        time.sleep(0.05)


server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
threading.Thread(target=server.serve_forever, daemon=True).start()
hook = f"http://127.0.0.1:{server.server_address[1]}/hook"

status, tokens = api("POST", "/api/login", {"email": email, "password": password})
assert status == 200, (status, tokens)
token = tokens["access_token"]
status, store = api("POST", "/api/stores", {"name": f"Webhook bench {time.time_ns()}"}, token)
assert status == 201, (status, store)
status, endpoint = api("POST", "/api/webhooks", {"url": hook, "store_id": store["id"], "kinds": ["item.created", "item.updated"]}, token)
assert status == 201, (status, endpoint)
Receiver.verifier = Webhook(endpoint["secret"])

# 1. Latency.
answered = {}
for n in range(LATENCY_ITEMS):
    status, item = api("POST", "/api/items", {"name": f"Probe {n}", "price": "1.00", "store_id": store["id"]}, token)
    assert status == 201, (status, item)
    answered[item["id"]] = time.monotonic()
    time.sleep(0.05)
wait_until(lambda: all(i in Receiver.arrivals for i in answered), 30, "every probe delivered")
latencies = sorted(max(0.0, Receiver.arrivals[i] - t) * 1000 for i, t in answered.items())
p50 = statistics.median(latencies)
p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
print(f"latency: {LATENCY_ITEMS} items, API answer to delivery arrival p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {latencies[-1]:.1f} ms")

# 2. Backlog: the first delivery is refused and retried; the rest wait.
Receiver.status = 503
rss_before = rss_mib()
sql(f"INSERT INTO events (kind, entity_id, store_id, object, actor_id) "
    f"SELECT 'item.updated', 1000000000 + g, {store['id']}, NULL, NULL FROM generate_series(1, {backlog + 1}) AS g")
wait_until(lambda: int(sql("SELECT count(*) FROM webhook_deliveries WHERE state = 'pending'")) >= backlog + 1,
           120, f"{backlog + 1} deliveries made")
time.sleep(2)
rss_backlog = rss_mib()
pending = int(sql("SELECT count(*) FROM webhook_deliveries WHERE state = 'pending'"))
print(f"backlog: {pending} deliveries pending; server RSS {rss_before:.0f} MiB before, {rss_backlog:.0f} MiB with them")

# 3. Throughput: the receiver answers, the retry is due now.
Receiver.status = 204
delivered_before = Receiver.count
started = time.monotonic()
sql("UPDATE webhook_deliveries SET next_attempt_at = now() WHERE state = 'pending'")
wait_until(lambda: int(sql("SELECT count(*) FROM webhook_deliveries WHERE state = 'pending'")) == 0,
           600, "the backlog drained")
took = time.monotonic() - started
drained = Receiver.count - delivered_before
print(f"throughput: {drained} deliveries in {took:.1f} s, {drained / took:.0f} a second to one endpoint; "
      f"server RSS after {rss_mib():.0f} MiB")
server.shutdown()
if Receiver.unverified:
    sys.exit(f"FAIL: {Receiver.unverified} deliveries did not verify with standardwebhooks")
print(f"signatures: all {Receiver.count} deliveries verified with the standardwebhooks library")
