#!/usr/bin/env python3
"""Delivery latency of `item.created` events to one stream.

    latency.py BASE_URL SECONDS

Reads BASE_URL/api/events for SECONDS and prints how many item.created
events arrived and the median and 99th percentile, in milliseconds, of the
time from each event's `at` (the start of the writing transaction) to its
arrival. Standard library only; see writes.sh.
"""

import datetime
import json
import socket
import statistics
import sys
import time
import urllib.parse


def main():
    base, seconds = sys.argv[1], float(sys.argv[2])
    url = urllib.parse.urlsplit(base)
    sock = socket.create_connection((url.hostname, url.port))
    sock.sendall(f"GET /api/events HTTP/1.0\r\nHost: {url.hostname}\r\nAccept: text/event-stream\r\n\r\n".encode())
    sock.settimeout(0.2)
    buffer, latencies, until = b"", [], time.monotonic() + seconds
    while time.monotonic() < until:
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            continue
        if not chunk:
            break
        arrived = datetime.datetime.now(datetime.timezone.utc)
        buffer += chunk
        *messages, buffer = buffer.split(b"\n\n")
        for message in messages:
            lines = message.decode().splitlines()
            if "event:item.created" not in lines and "event: item.created" not in lines:
                continue
            data = "".join(line.partition(":")[2].strip() for line in lines if line.startswith("data:"))
            at = datetime.datetime.fromisoformat(json.loads(data)["at"].replace("Z", "+00:00"))
            latencies.append((arrived - at).total_seconds() * 1000)
    if not latencies:
        print("0 - -")
        return
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    print(f"{len(latencies)} {statistics.median(latencies):.1f} {p99:.1f}")


main()
