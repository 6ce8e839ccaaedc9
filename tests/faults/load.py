#!/usr/bin/env python3
"""Mixed load for the fault drill, and its report.

  load.py load URL SECONDS RESULTS TOKEN STORE_ID ITEM_ID
      Eight workers send reads (the store list, an item list, one item, the
      home page) and creates (POST /api/items) for SECONDS, at most 200,000
      requests in all. Every answer is one line of RESULTS:
      {"t": start, "s": status, "d": seconds, "kind": ..., "id": created id,
       "name": the name a create sent, "code": the problem's code}.

  load.py report RESULTS TIMELINE EXISTING_IDS
      TIMELINE has a line "NAME START END" per fault (END: when the database
      was back). EXISTING_IDS lists the items in the database after the
      drill, one "id|name" a line. Prints the figures and exits 1 if a 500
      was answered, an acknowledged create is missing, or a create refused
      with anything but `outcome_unknown` was made after all.
"""
import http.client
import json
import random
import sys
import threading
import time
from urllib.parse import urlsplit

MAX_REQUESTS = 200_000


def load(url, seconds, results_path, token, store_id, item_id):
    parts = urlsplit(url)
    deadline = time.time() + float(seconds)
    lock = threading.Lock()
    sent = [0]
    out = open(results_path, "w")

    def worker(n):
        rng = random.Random(n)
        conn = None
        while time.time() < deadline:
            with lock:
                if sent[0] >= MAX_REQUESTS:
                    return
                sent[0] += 1
                serial = sent[0]
            roll = rng.random()
            body, headers, method = None, {}, "GET"
            if roll < 0.25:
                kind, path = "stores", "/api/stores"
            elif roll < 0.5:
                kind, path = "items", f"/api/items?store_id={store_id}&limit=20"
            elif roll < 0.7:
                kind, path = "item", f"/api/items/{item_id}"
            elif roll < 0.8:
                kind, path = "page", "/"
            else:
                kind, path, method = "create", "/api/items", "POST"
                body = json.dumps({"name": f"drill {n}-{serial}", "price": "1.50", "store_id": int(store_id)})
                headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
            started = time.time()
            status, created, code, name = 0, None, None, None
            if kind == "create":
                name = json.loads(body)["name"]
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=15)
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
                status = response.status
                if kind == "create" and status == 201:
                    created = json.loads(data)["id"]
                elif status >= 400:
                    try:
                        code = json.loads(data).get("code")
                    except ValueError:
                        code = None
                if response.getheader("Connection", "").lower() == "close":
                    conn.close()
                    conn = None
            except Exception:
                # No answer at all (the server itself never stopped): counted
                # as status 0, and the connection made anew.
                if conn is not None:
                    conn.close()
                conn = None
            record = {"t": started, "s": status, "d": time.time() - started, "kind": kind, "id": created,
                      "name": name, "code": code}
            with lock:
                out.write(json.dumps(record) + "\n")

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    out.close()


def report(results_path, timeline_path, existing_path):
    results = [json.loads(line) for line in open(results_path)]
    faults = []
    for line in open(timeline_path):
        name, start, end = line.split()
        faults.append((name, float(start), float(end)))
    rows = [line.rstrip("\n").split("|", 1) for line in open(existing_path) if line.strip()]
    existing = {int(row[0]) for row in rows}
    existing_names = {row[1] for row in rows}

    by_status = {}
    for r in results:
        by_status[r["s"]] = by_status.get(r["s"], 0) + 1
    errors_500 = by_status.get(500, 0)
    slowest_503 = max((r["d"] for r in results if r["s"] == 503), default=0.0)
    acknowledged = [r["id"] for r in results if r["kind"] == "create" and r["s"] == 201]
    missing = [i for i in acknowledged if i not in existing]

    print(f"requests: {len(results)}  by status: {dict(sorted(by_status.items()))}")
    print(f"500s: {errors_500}")
    print(f"slowest 503: {slowest_503:.2f} s")
    for name, start, end in faults:
        during = [r for r in results if start <= r["t"] < end]
        refused = sum(1 for r in during if r["s"] == 503)
        after = sorted(r["t"] + r["d"] for r in results if r["t"] >= end and 200 <= r["s"] < 300)
        first = f"{after[0] - end:.2f} s" if after else "none"
        print(f"{name:>10}: {end - start:5.1f} s, {len(during)} requests, {refused} answered 503, "
              f"first success {first} after recovery")
    print(f"acknowledged creates: {len(acknowledged)}, missing afterwards: {len(missing)}")
    # A create refused with an answer (503 `unavailable`, and every other
    # refusal but `outcome_unknown`) must not have been made afterwards.
    refused = [r for r in results if r["kind"] == "create" and r["s"] not in (0, 201)]
    unknown = [r for r in refused if r["code"] == "outcome_unknown"]
    made_anyway = [r["name"] for r in refused if r["code"] != "outcome_unknown" and r["name"] in existing_names]
    print(f"creates refused: {len(refused)}, of which outcome_unknown: {len(unknown)} "
          f"({sum(1 for r in unknown if r['name'] in existing_names)} made); "
          f"refused but made afterwards: {len(made_anyway)} {made_anyway[:5]}")
    unanswered = sum(1 for r in results if r["kind"] == "create" and r["s"] == 0)
    print(f"creates without an answer (so may or may not exist): {unanswered}")
    if any(r["s"] == 0 for r in results):
        print(f"requests without an answer: {by_status[0]}")
    ok = errors_500 == 0 and acknowledged and not missing and not made_anyway and all(
        any(r["t"] >= end and 200 <= r["s"] < 300 for r in results) for _, _, end in faults)
    print("drill passed" if ok else "DRILL FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    if sys.argv[1] == "load":
        load(*sys.argv[2:8])
    elif sys.argv[1] == "report":
        sys.exit(report(*sys.argv[2:5]))
    else:
        sys.exit(__doc__)
