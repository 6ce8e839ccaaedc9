#!/usr/bin/env python3
"""Delivery latency of changes to another instance, under whatever load runs.

    latency.py A_URL B_URL TOKEN ITEM_ID SECONDS

For SECONDS, changes the price of item ITEM_ID through instance A twenty
times a second and follows B's event stream; prints how many changes were
made and the median and 99th percentile, in milliseconds, of the time from
A acknowledging a change (it is committed) to its event arriving at B's
stream. Standard library only; see writes.sh.
"""

import http.client
import json
import socket
import statistics
import sys
import threading
import time
import urllib.parse


def stream(base, item_id, arrivals, stop):
    """Notes when each price of the item arrives on B's stream."""
    url = urllib.parse.urlsplit(base)
    sock = socket.create_connection((url.hostname, url.port))
    sock.sendall(f"GET /api/events HTTP/1.0\r\nHost: {url.hostname}\r\nAccept: text/event-stream\r\n\r\n".encode())
    sock.settimeout(0.1)
    buffer = b""
    while not stop.is_set():
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            continue
        if not chunk:
            return
        arrived = time.monotonic()
        buffer += chunk
        *messages, buffer = buffer.split(b"\n\n")
        for message in messages:
            data = "".join(line[5:].strip() for line in message.decode().splitlines() if line.startswith("data:"))
            if not data.startswith("{"):
                continue
            event = json.loads(data)
            if event.get("kind") == "item.updated" and event.get("entity_id") == item_id:
                arrivals.setdefault(f"{event['object']['price']:.2f}", arrived)


def main():
    a, b, token, item_id, seconds = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5])
    arrivals, stop = {}, threading.Event()
    reader = threading.Thread(target=stream, args=(b, item_id, arrivals, stop), daemon=True)
    reader.start()
    time.sleep(0.3)
    url = urllib.parse.urlsplit(a)
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    acknowledged, started, n = {}, time.monotonic(), 0
    while time.monotonic() - started < seconds:
        n += 1
        price = f"{n // 100 + 1}.{n % 100:02d}"
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
        conn.request("PUT", f"/api/items/{item_id}", body=json.dumps({"price": price}), headers=headers)
        response = conn.getresponse()
        response.read()
        conn.close()
        if response.status == 200:
            acknowledged[price] = time.monotonic()
        time.sleep(0.05)
    time.sleep(1)
    stop.set()
    # An event may reach B before A's answer reaches the client: no wait.
    latencies = sorted(max(0.0, arrivals[p] - at) * 1000 for p, at in acknowledged.items() if p in arrivals)
    missing = len(acknowledged) - len(latencies)
    if not latencies:
        print(f"0 - - {missing}")
        return
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    print(f"{len(latencies)} {statistics.median(latencies):.1f} {p99:.1f} {missing}")


main()
