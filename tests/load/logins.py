#!/usr/bin/env python3
"""Memory and responsiveness under floods of logins, against a running instance.

    logins.py BASE_URL PID [LOGINS...]

For 100 and then 1,000 concurrent logins of unknown emails (or the numbers
given), each costing a full argon2id verification against the dummy hash,
prints the server's
RSS before, at the peak and two seconds after, the answers by status, and
the slowest of the reads made meanwhile. Standard library only; see
logins.sh.
"""

import http.client
import json
import sys
import threading
import time
import urllib.parse
from collections import Counter


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def request(base, method, path, body=None):
    url = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
    try:
        conn.request(method, path, body=None if body is None else json.dumps(body),
                     headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        response.read()
        return response.status
    except OSError as error:
        return type(error).__name__
    finally:
        conn.close()


def flood(base, pid, logins):
    statuses, reads = Counter(), []
    lock = threading.Lock()
    start = threading.Event()
    done = threading.Event()
    peak = [rss_mib(pid)]

    def login(n):
        start.wait()
        status = request(base, "POST", "/api/login", {"email": f"nobody{n}@example.org", "password": "x" * 16})
        with lock:
            statuses[status] += 1

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], rss_mib(pid))
            time.sleep(0.02)

    def read():
        while not done.is_set():
            started = time.monotonic()
            request(base, "GET", "/api/stores")
            reads.append(time.monotonic() - started)
            time.sleep(0.05)

    before = rss_mib(pid)
    threads = [threading.Thread(target=login, args=(n,)) for n in range(logins)]
    for thread in threads:
        thread.start()
    watchers = [threading.Thread(target=sample), threading.Thread(target=read)]
    for watcher in watchers:
        watcher.start()
    started = time.monotonic()
    start.set()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    done.set()
    for watcher in watchers:
        watcher.join()
    time.sleep(2)
    after = rss_mib(pid)
    print(f"{logins} concurrent logins in {elapsed:.1f} s: answers {dict(sorted(statuses.items(), key=str))}; "
          f"RSS {before:.0f} MiB before, {peak[0]:.0f} MiB at the peak, {after:.0f} MiB 2 s after; "
          f"{len(reads)} reads meanwhile, slowest {max(reads) * 1000:.0f} ms, "
          f"median {sorted(reads)[len(reads) // 2] * 1000:.0f} ms")


def main():
    base, pid = sys.argv[1], int(sys.argv[2])
    for logins in [int(n) for n in sys.argv[3:]] or (100, 1000):
        flood(base, pid, logins)


if __name__ == "__main__":
    main()
