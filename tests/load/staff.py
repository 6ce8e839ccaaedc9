#!/usr/bin/env python3
"""The staff tools' benchmark driver (see staff.sh): an import of ROWS rows
(20 of them bad) previewed and applied, an export of the EXPORT store's
items, and a bulk price change on the BULK store's items, each timed, with
the server's peak memory (VmHWM, reset before each step through
/proc/PID/clear_refs).

    staff.py BASE SERVER_PID EMAIL PASSWORD ROWS EXPORT_STORE BULK_STORE
"""

import http.client
import json
import re
import sys
import time
import urllib.parse
import uuid

base, pid, email, password, rows, export_store, bulk_store = sys.argv[1:8]
rows = int(rows)
url = urllib.parse.urlsplit(base)
cookies = {}


def call(method, path, fields=None, raw=None, content_type=None):
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=600)
    headers = {"Origin": base}
    if cookies:
        headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    if fields is not None:
        raw = urllib.parse.urlencode(fields).encode()
        content_type = "application/x-www-form-urlencoded"
    if content_type:
        headers["Content-Type"] = content_type
    conn.request(method, path, body=raw, headers=headers)
    response = conn.getresponse()
    size = 0
    lines = 0
    body = b""
    streamed = path.endswith(".csv") or "export.csv" in path
    while True:
        chunk = response.read(1 << 16)
        if not chunk:
            break
        size += len(chunk)
        lines += chunk.count(b"\n")
        if not streamed:
            body += chunk
    for name, value in response.getheaders():
        if name.lower() == "set-cookie":
            pair = value.split(";", 1)[0]
            key, _, val = pair.partition("=")
            cookies[key] = val
    conn.close()
    return response.status, response.getheader("Location"), body.decode("utf-8", "replace"), size, lines


def csrf(page):
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def reset_peak():
    with open(f"/proc/{pid}/clear_refs", "w") as refs:
        refs.write("5")


def peak_mib():
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def settled(path):
    while True:
        status, _, body, _, _ = call("GET", f"{path}/progress")
        state = json.loads(body)["state"]
        if state not in ("previewing", "applying"):
            return state
        time.sleep(0.05)


_, _, page, _, _ = call("GET", "/account/login")
status, _, _, _, _ = call("POST", "/account/login",
                          {"csrf_token": csrf(page), "email": email, "password": password})
assert status == 303, status
_, _, page, _, _ = call("GET", "/admin/imports")
token = csrf(page)

# 1. The import: ROWS new items of the import store, 20 of them bad.
lines = ["name,price,description,tags,store"]
bad = set(range(17, rows + 1, max(rows // 20, 1))[:20])
for n in range(1, rows + 1):
    if n in bad:
        lines.append(f"Bench item {n},not a price,,,Import bench")
    else:
        lines.append(f"Bench item {n},{n % 100}.50,Made for the benchmark,bench|import,Import bench")
csv_file = ("\r\n".join(lines) + "\r\n").encode()
boundary = uuid.uuid4().hex
body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{token}\r\n"
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"bench.csv\"\r\n"
        f"Content-Type: text/csv\r\n\r\n").encode() + csv_file + f"\r\n--{boundary}--\r\n".encode()
status, location, _, _, _ = call("POST", "/admin/imports", raw=body,
                                 content_type=f"multipart/form-data; boundary={boundary}")
assert status == 303 and location.startswith("/admin/imports/"), (status, location)
mapping = {"map.name": "0", "map.price": "1", "map.description": "2", "map.tags": "3", "map.store": "4",
           "match_by": "name", "create_tags": "true", "csrf_token": token}
reset_peak()
started = time.monotonic()
status, _, _, _, _ = call("POST", f"{location}/preview", mapping)
state = settled(location)
preview_s = time.monotonic() - started
preview_peak = peak_mib()
assert state == "previewed", state
_, _, page, _, _ = call("GET", location)
counts = re.search(r"(\d+) new, (\d+) changed, (\d+) unchanged, (\d+) refused", page).groups()
reset_peak()
started = time.monotonic()
status, _, _, _, _ = call("POST", f"{location}/apply", {"csrf_token": token})
state = settled(location)
apply_s = time.monotonic() - started
apply_peak = peak_mib()
assert state == "applied", state
print(f"import of {rows} rows ({counts[0]} new, {counts[3]} refused): preview {preview_s:.2f} s "
      f"(peak RSS {preview_peak:.0f} MiB), apply {apply_s:.2f} s (peak RSS {apply_peak:.0f} MiB)")

# 2. The export of one store's items.
reset_peak()
started = time.monotonic()
status, _, _, size, exported = call("GET", f"/admin/items/export.csv?store={export_store}")
export_s = time.monotonic() - started
assert status == 200, status
print(f"export of {exported - 1} items: {export_s:.2f} s, {size / 1024 / 1024:.1f} MiB, "
      f"peak RSS {peak_mib():.0f} MiB")

# 3. A bulk price change on every item of the bulk store.
path = f"/admin/items/bulk-change?store={bulk_store}"
change = {"csrf_token": token, "all_matching": "true", "operation": "change_price", "percent": "-10"}
reset_peak()
started = time.monotonic()
status, _, page, _, _ = call("POST", path, change)
plan_s = time.monotonic() - started
assert status == 200, (status, page[:300])
fingerprint = re.search(r'name="fingerprint" value="([0-9a-f]+)"', page).group(1)
changing = re.search(r"(\d+) items? change", page).group(1)
started = time.monotonic()
status, _, _, _, _ = call("POST", path, {**change, "fingerprint": fingerprint, "confirmed": "true"})
apply_bulk_s = time.monotonic() - started
assert status == 303, status
print(f"bulk price change of {changing} items: confirmation page {plan_s:.2f} s, apply {apply_bulk_s:.2f} s "
      f"(peak RSS {peak_mib():.0f} MiB)")
print(f"BULK {changing}")
