#!/usr/bin/env python3
"""The picture benchmark's driver (see pictures.sh).

    pictures.py BASE SERVER_PID EMAIL PASSWORD PHOTO UPLOADS
"""

import http.client
import json
import os
import statistics
import sys
import threading
import time
import urllib.parse
import uuid

base, pid, email, password, photo_path, uploads = sys.argv[1:7]
uploads = int(uploads)
url = urllib.parse.urlsplit(base)
photo = open(photo_path, "rb").read()


def call(method, path, body=None, token=None, headers=None, raw=None):
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=120)
    sent = dict(headers or {})
    if token:
        sent["Authorization"] = f"Bearer {token}"
    if body is not None:
        sent["Content-Type"] = "application/json"
        raw = json.dumps(body).encode()
    conn.request(method, path, body=raw, headers=sent)
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, data


def upload(token, item):
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"photo.jpg\"\r\n"
            f"Content-Type: image/jpeg\r\n\r\n").encode() + photo + f"\r\n--{boundary}--\r\n".encode()
    started = time.monotonic()
    status, data = call("POST", f"/api/items/{item}/images", token=token, raw=body,
                        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    return status, time.monotonic() - started, data


def rss_mib():
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


status, data = call("POST", "/api/login", {"email": email, "password": password})
token = json.loads(data)["access_token"]
status, data = call("POST", "/api/stores", {"name": "Picture bench"}, token=token)
store = json.loads(data)["id"]
items = []
for n in range(max(uploads, 5)):
    status, data = call("POST", "/api/items", {"name": f"Photo {n}", "price": "1.00", "store_id": store}, token=token)
    items.append(json.loads(data)["id"])

# One at a time: from the request sent to the item answered with its sizes.
times = []
for n in range(5):
    status, seconds, data = upload(token, items[n])
    assert status == 201, (status, data[:300])
    times.append(seconds)
print(f"upload of a {len(photo) / 1e6:.1f} MB 12-megapixel JPEG to ready (201 with its sizes): "
      f"median {statistics.median(times) * 1000:.0f} ms of 5 ({', '.join(f'{t * 1000:.0f}' for t in times)})")
first = json.loads(data)["images"][0]["sizes"]

# A flood: UPLOADS at once, memory sampled, reads timed meanwhile.
before = rss_mib()
peak = [before]
done = threading.Event()
statuses, reads = [], []


def sample():
    while not done.is_set():
        peak[0] = max(peak[0], rss_mib())
        time.sleep(0.02)


def read():
    n = 0
    while not done.is_set():
        n += 1
        started = time.monotonic()
        status, _ = call("GET", f"/api/items?limit=20&q=probe{n}")
        reads.append((status, time.monotonic() - started))
        time.sleep(0.01)


def flood(item):
    status, _, _ = upload(token, item)
    statuses.append(status)


watchers = [threading.Thread(target=sample), threading.Thread(target=read)]
for watcher in watchers:
    watcher.start()
started = time.monotonic()
uploaders = [threading.Thread(target=flood, args=(items[n],)) for n in range(uploads)]
for uploader in uploaders:
    uploader.start()
for uploader in uploaders:
    uploader.join()
took = time.monotonic() - started
done.set()
for watcher in watchers:
    watcher.join()
time.sleep(2)
after = rss_mib()
counted = {status: statuses.count(status) for status in sorted(set(statuses))}
latencies = sorted(seconds for _, seconds in reads)
bad_reads = [status for status, _ in reads if status != 200]
print(f"{uploads} concurrent uploads in {took:.1f} s: answers {counted}; RSS {before:.0f} MiB before, "
      f"{peak[0]:.0f} MiB at the peak, {after:.0f} MiB 2 s after")
print(f"reads meanwhile (a search the cache cannot answer): {len(reads)}, p50 "
      f"{statistics.median(latencies) * 1000:.0f} ms, max {latencies[-1] * 1000:.0f} ms, not 200: {len(bad_reads)}")
if any(status >= 500 and status != 503 for status in statuses) or bad_reads:
    print("FAIL: errors under the flood")
    sys.exit(1)
print(f"PICTURE {first[1]['url']}")
print(f"STORE {store}")
