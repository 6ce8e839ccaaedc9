#!/usr/bin/env python3
"""Checks that two Storefront instances behind nginx behave as one.

    check.py BALANCER_URL A_URL B_URL ADMIN_EMAIL ADMIN_PASSWORD A_PID

Standard library only. Each check prints one line; the script exits non-zero
on the first failure. See run.sh for how the processes are started.
"""

import http.client
import json
import os
import signal
import socket
import statistics
import sys
import threading
import time
import urllib.parse
from http.cookiejar import CookieJar
from urllib.request import HTTPCookieProcessor, HTTPErrorProcessor, build_opener, Request

CHANGES = int(os.environ.get("SCALE_CHANGES", "120"))
STALE_ROUNDS = int(os.environ.get("SCALE_STALE_ROUNDS", "500"))


def fail(message):
    print(f"FAIL: {message}", flush=True)
    sys.exit(1)


def check(condition, message):
    if not condition:
        fail(message)


class Api:
    """JSON requests to one base URL."""

    def __init__(self, base, token=None):
        self.base = base
        self.token = token

    def call(self, method, path, body=None, token=None, headers=None):
        url = urllib.parse.urlsplit(self.base)
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
        all_headers = {"Content-Type": "application/json"}
        if token or self.token:
            all_headers["Authorization"] = f"Bearer {token or self.token}"
        all_headers.update(headers or {})
        conn.request(method, path, body=None if body is None else json.dumps(body), headers=all_headers)
        response = conn.getresponse()
        text = response.read().decode()
        conn.close()
        data = json.loads(text) if text and response.getheader("Content-Type", "").endswith("json") else text
        return response.status, data, response


class Stream:
    """A Server-Sent Events client that collects events on a thread of its own."""

    def __init__(self, base, path="/api/events", last_event_id=None):
        url = urllib.parse.urlsplit(base)
        self.conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
        headers = {"Accept": "text/event-stream"}
        if last_event_id is not None:
            headers["Last-Event-ID"] = str(last_event_id)
        self.conn.request("GET", path, headers=headers)
        self.response = self.conn.getresponse()
        check(self.response.status == 200, f"stream {base}{path}: {self.response.status}")
        self.events = []  # (received_at, id, name, data)
        self.last_id = None
        self.ready = threading.Event()
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()
        check(self.ready.wait(10), f"stream {base}{path} did not open")

    def _read(self):
        fields = {}
        try:
            for raw in self.response:
                line = raw.decode().rstrip("\r\n")
                if line == "":
                    if "id" in fields:
                        self.last_id = int(fields["id"])
                    if "event" in fields:
                        with self.lock:
                            self.events.append((time.monotonic(), int(fields["id"]), fields["event"],
                                                json.loads(fields.get("data", "null"))))
                    self.ready.set()
                    fields = {}
                elif line.startswith(":"):
                    continue
                else:
                    name, _, value = line.partition(":")
                    fields[name] = value[1:] if value.startswith(" ") else value
        except Exception:  # noqa: BLE001 - the connection was closed under the reader: its end
            pass

    def created(self):
        """Ids of the items whose creation this connection received."""
        with self.lock:
            return [e[3]["entity_id"] for e in self.events if e[2] == "item.created"]

    def close(self):
        """Disconnects; returns `created()` once nothing more can arrive."""
        try:
            self.conn.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.conn.close()
        self.thread.join(5)
        return self.created()

    def wait_for(self, predicate, timeout=5.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                for event in self.events:
                    if predicate(event):
                        return event
            time.sleep(0.002)
        return None


def cut_and_retried(a_url, b, token, run):
    """A write whose connection is cut before its answer, sent again with its
    Idempotency-Key through the other instance, is done once."""
    status, store, _ = b.call("POST", "/api/stores", {"name": f"Cut {run}"})
    check(status == 201, f"create store: {status} {store}")
    fields = {"name": f"Cut {run}", "price": "3.00", "store_id": store["id"]}
    for n in range(5):
        key = f"cut-{run}-{n}"
        body = json.dumps(fields | {"name": f"Cut {run} {n}"})
        url = urllib.parse.urlsplit(a_url)
        with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
            sock.sendall((
                f"POST /api/items HTTP/1.1\r\nHost: {url.hostname}\r\nAuthorization: Bearer {token}\r\n"
                f"Content-Type: application/json\r\nIdempotency-Key: {key}\r\n"
                f"Content-Length: {len(body)}\r\n\r\n{body}").encode())
            if n % 2:
                time.sleep(0.01)
        # Cut: closed before any answer was read. Retried until the first has answered.
        deadline = time.monotonic() + 10
        while True:
            status, item, response = b.call("POST", "/api/items", json.loads(body), headers={"Idempotency-Key": key})
            if status != 409:
                break
            check(time.monotonic() < deadline, f"key {key} still in use after 10 s")
            time.sleep(0.02)
        check(status == 201, f"retry of a cut write: {status} {item}")
        status, again, response = Api(a_url, token).call(
            "POST", "/api/items", json.loads(body), headers={"Idempotency-Key": key})
        check(status == 201 and again == item and response.getheader("Idempotent-Replayed") == "true",
              f"a second retry through A: {status} {again} {response.getheader('Idempotent-Replayed')}")
    status, listed, _ = b.call("GET", f"/api/items?store_id={store['id']}&limit=50")
    check(status == 200 and len(listed) == 5, f"5 cut writes retried made {len(listed)} items: {listed}")
    print("ok: 5 writes cut before their answer and retried with their key through the other instance: 5 items")


def login(api, email, password):
    status, body, _ = api.call("POST", "/api/login", {"email": email, "password": password})
    check(status == 200, f"login of {email}: {status} {body}")
    return body["access_token"]


def register(api, email, password):
    status, body, _ = api.call("POST", "/api/register", {"email": email, "password": password})
    check(status == 201, f"register {email}: {status} {body}")
    return body["id"]


def percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def main():
    balancer, a_url, b_url, admin_email, admin_password, a_pid = sys.argv[1:7]
    a_pid = int(a_pid)
    run = str(int(time.time()))
    token = login(Api(balancer), admin_email, admin_password)
    a, b, lb = Api(a_url, token), Api(b_url, token), Api(balancer, token)

    # A store created through A is read back through B.
    status, store, _ = a.call("POST", "/api/stores", {"name": f"Scale {run}"})
    check(status == 201, f"create store through A: {status} {store}")
    status, read, response = b.call("GET", f"/api/stores/{store['id']}")
    check(status == 200 and read == store, f"read back through B: {status} {read}")
    print(f"ok: a store created through A is read back through B (ETag {response.getheader('ETag')})")

    # Changes through A reach an event stream of B within a second.
    status, item, _ = a.call("POST", "/api/items", {"name": "Probe", "price": "1.00", "store_id": store["id"]})
    check(status == 201, f"create item: {status} {item}")
    on_b = Stream(b_url, f"/api/events?store_id={store['id']}")
    on_a = Stream(a_url, f"/api/events?store_id={store['id']}")
    latencies_b, latencies_a = [], []
    for n in range(CHANGES):
        price = f"{n + 1}.00"
        sent = time.monotonic()
        status, _, _ = a.call("PUT", f"/api/items/{item['id']}", {"price": price})
        check(status == 200, f"change {n} through A: {status}")

        def arrived(event, price=price):
            return event[2] == "item.updated" and event[3]["object"]["price"] == float(price)

        seen_b = on_b.wait_for(arrived)
        seen_a = on_a.wait_for(arrived)
        check(seen_b is not None, f"change {n} never reached B's stream")
        check(seen_a is not None, f"change {n} never reached A's stream")
        latencies_b.append((seen_b[0] - sent) * 1000)
        latencies_a.append((seen_a[0] - sent) * 1000)
    p50_b, p99_b = statistics.median(latencies_b), percentile(latencies_b, 0.99)
    p50_a, p99_a = statistics.median(latencies_a), percentile(latencies_a, 0.99)
    print(f"ok: {CHANGES} changes through A, request sent to event received: "
          f"same instance p50 {p50_a:.1f} ms p99 {p99_a:.1f} ms; "
          f"other instance p50 {p50_b:.1f} ms p99 {p99_b:.1f} ms")
    check(p99_b < 1000, f"p99 to the other instance is {p99_b:.0f} ms, over 1 s")

    # A client reads its own writes on every instance: a price changed
    # through one instance and read at once through the other (the item, the
    # store's list and the panel's form), each time after an anonymous read
    # left the old price in the reader's cache; then the same through the
    # balancer.
    panel = web_session(balancer, admin_email, admin_password)
    for label, writer, reader in (("A, read through B", a, b), ("the balancer", lb, lb)):
        stale = []
        for n in range(STALE_ROUNDS):
            item_path, list_path = f"/api/items/{item['id']}", f"/api/items?store_id={store['id']}"
            for path in (item_path, list_path):
                Api(reader.base).call("GET", path)
            price = f"{n % 900 + 10}.{n * 7 % 100:02d}"
            status, _, _ = writer.call("PUT", item_path, {"price": price})
            check(status == 200, f"change {n} through {label}: {status}")
            status, read, _ = reader.call("GET", item_path)
            if status != 200 or read["price"] != float(price):
                stale.append(f"item {read}")
            status, listed, _ = reader.call("GET", list_path)
            if status != 200 or listed[0]["price"] != float(price):
                stale.append(f"list {listed}")
            form = panel.open(f"{reader.base}/admin/items/{item['id']}", timeout=10).read().decode()
            if f'value="{price}"' not in form:
                stale.append(f"panel: {form[:200]}")
        check(not stale, f"{len(stale)} stale reads of {STALE_ROUNDS} rounds through {label}: {stale[:2]}")
        print(f"ok: {STALE_ROUNDS} changes through {label}: 0 stale reads of the item, the list and the panel")

    # An independent client through the balancer, reconnecting with
    # Last-Event-ID while changes go through both instances, misses nothing
    # and gets nothing twice.
    path = f"/api/events?store_id={store['id']}"
    client, received, expected = Stream(balancer, path), [], []
    for round_ in range(5):
        for n, api in enumerate((a, b, a, b)):
            status, created, _ = api.call(
                "POST", "/api/items", {"name": f"R{round_}-{n}", "price": "2.00", "store_id": store["id"]})
            check(status == 201, f"create through {'AB'[n % 2]}: {status}")
            expected.append(created["id"])
            if n == 1:
                received += client.close()
                client = Stream(balancer, path, last_event_id=client.last_id)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and len(received) + len(client.created()) < len(expected):
        time.sleep(0.05)
    received += client.close()
    check(sorted(received) == sorted(expected),
          f"missed {sorted(set(expected) - set(received))}, twice {len(received) - len(set(received))}")
    print(f"ok: a client reconnecting through the balancer with Last-Event-ID 5 times while "
          f"{len(expected)} items were created through both instances: 0 missed, 0 twice")

    cut_and_retried(a_url, b, token, run)

    # Every instance sees every logout and deactivation at once.
    password = "quiet-lantern-harbour-58"
    email = f"scale-{run}@example.org"
    user_id = register(Api(a_url), email, password)
    user_token = login(Api(a_url), email, password)
    status, _, _ = b.call("GET", f"/api/user/{user_id}", token=user_token)
    check(status == 200, f"B accepts the token: {status}")
    status, _, _ = a.call("POST", "/api/logout", token=user_token)
    check(status == 204, f"logout through A: {status}")
    status, body, _ = b.call("GET", f"/api/user/{user_id}", token=user_token)
    check(status == 401 and body.get("code") == "token_revoked", f"B after logout: {status} {body}")
    print("ok: a logout through A is refused at once by B")

    user_token = login(Api(a_url), email, password)
    deactivate(a_url, admin_email, admin_password, user_id)
    status, body, _ = b.call("GET", f"/api/user/{user_id}", token=user_token)
    check(status == 401, f"B after deactivation: {status} {body}")
    print("ok: a deactivation in A's admin panel is refused at once by B")

    # Login throttling counts failures across both instances.
    victim = f"throttle-{run}@example.org"
    register(Api(a_url), victim, password)
    statuses = []
    for n in range(12):
        api = Api(a_url if n % 2 == 0 else b_url)
        status, _, _ = api.call("POST", "/api/login", {"email": victim, "password": "wrong-password-123"})
        statuses.append(status)
    check(statuses[:10] == [401] * 10 and statuses[10:] == [429, 429], f"failures across instances: {statuses}")
    print(f"ok: login failures are counted across both instances: {statuses}")

    if os.environ.get("SCALE_CLUSTER"):
        import replica
        replica.check_replica(balancer, lb, token, store["id"], item["id"], a, b_url)

    # Killing A loses no acknowledged write, and B keeps serving.
    acknowledged, refused = [], []
    stop = threading.Event()

    def write():
        n = 0
        while not stop.is_set():
            n += 1
            try:
                status, body, _ = lb.call(
                    "POST", "/api/items", {"name": f"K{n}", "price": "3.00", "store_id": store["id"]})
            except OSError:
                refused.append(n)
                continue
            (acknowledged if status == 201 else refused).append(body["id"] if status == 201 else status)

    writer = threading.Thread(target=write)
    writer.start()
    time.sleep(1.0)
    os.kill(a_pid, signal.SIGKILL)
    killed_at = len(acknowledged)
    time.sleep(2.0)
    stop.set()
    writer.join()
    check(len(acknowledged) > killed_at, "no write was acknowledged after A was killed")
    missing = [item_id for item_id in acknowledged if b.call("GET", f"/api/items/{item_id}")[0] != 200]
    check(not missing, f"acknowledged writes lost: {missing}")
    status, _, _ = lb.call("GET", f"/api/stores/{store['id']}")
    check(status == 200, f"the balancer after A died: {status}")
    print(f"ok: A killed with writes in flight: {len(acknowledged)} acknowledged, all readable on B "
          f"({killed_at} before the kill); {len(refused)} refused (never acknowledged); B keeps serving")
    last_write = max(acknowledged)
    check(on_b.wait_for(lambda e: e[2] == "item.created" and e[3]["entity_id"] == last_write),
          "B's stream missed the last acknowledged write")
    print("ok: B's stream carried every write, the last included")

    restart = os.environ.get("SCALE_RESTART_DATABASE")
    if restart:
        restart_database(restart, b, on_b, store["id"])


def restart_database(command, b, stream, store_id):
    """Restarts PostgreSQL under B: B answers 503 meanwhile, never 500, then
    serves again, and its open stream carries what is committed afterwards."""
    import subprocess
    started = time.monotonic()
    restarting = subprocess.Popen(command, shell=True)
    statuses, created = [], None
    # Writes all through the restart, until one succeeds after it.
    while created is None and time.monotonic() - started < 30:
        status, body, _ = b.call("POST", "/api/items", {"name": "Restart", "price": "1.00", "store_id": store_id})
        statuses.append(status)
        if status == 201 and restarting.poll() is not None:
            created = body
        time.sleep(0.05)
    check(restarting.wait() == 0, "the restart command failed")
    check(created is not None, f"B did not recover from the restart: {sorted(set(statuses))}")
    statuses = {status: statuses.count(status) for status in sorted(set(statuses))}
    check(set(statuses) <= {201, 503}, f"answers while the database restarted: {statuses}")
    event = stream.wait_for(lambda e: e[2] == "item.created" and e[3]["entity_id"] == created["id"], timeout=15)
    check(event is not None, "the stream opened before the restart missed a change made after it")
    print(f"ok: PostgreSQL restarted under B: answers {statuses} (status: count), writes again after "
          f"{time.monotonic() - started:.1f} s, and the stream opened before it carries the next change")


class NoRedirect(HTTPErrorProcessor):
    def http_response(self, request, response):
        return response

    https_response = http_response


def token_of(html):
    marker = 'name="csrf_token" value="'
    return html.split(marker, 1)[1].split('"', 1)[0]


def post_form(opener, base, path, fields):
    data = urllib.parse.urlencode(fields).encode()
    return opener.open(Request(base + path, data=data, headers={"Origin": base}), timeout=10)


def web_session(base, email, password):
    """A browser's cookies, logged in to the web pages through `base`."""
    opener = build_opener(HTTPCookieProcessor(CookieJar()), NoRedirect)
    page = opener.open(base + "/account/login", timeout=10).read().decode()
    fields = {"csrf_token": token_of(page), "email": email, "password": password}
    response = post_form(opener, base, "/account/login", fields)
    check(response.status == 303, f"web login: {response.status} {response.read()[:2000]}")
    return opener


def deactivate(base, email, password, user_id):
    """Deactivates a user through the admin panel, as a staff member would."""
    opener = web_session(base, email, password)

    def post(path, fields):
        return post_form(opener, base, path, fields)

    form = opener.open(f"{base}/admin/users/{user_id}", timeout=10).read().decode()
    version = form.split('name="version" value="', 1)[1].split('"', 1)[0]
    response = post(f"/admin/users/{user_id}",
                    {"csrf_token": token_of(form), "role": "member", "version": version, "action": "save"})
    check(response.status == 303, f"deactivation: {response.status} {response.read()[:300]}")


if __name__ == "__main__":
    main()
