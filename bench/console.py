#!/usr/bin/env python3
"""Page times of the console, warm, on a store: p50 / p95 / max per page over N requests.

    python3 bench/console.py BIN STORE [--runs 50] [--fresh]

Adds an admin `bench` to the store's console (or resets its password), starts
`BIN serve --store STORE` on a free loopback port, logs in through the form as a browser does,
then asks each page and API route of the default period (24 hours) three times to warm it and
RUNS times to measure. Prints one line per page and a Markdown table. With --fresh it measures
what the console keeps instead: the overview made afresh (a different period per request,
24 to 24+RUNS-1 hours, so nothing kept serves) and the first and second view of the incident
of three high alerts. Python's standard library only.
"""

import argparse
import http.cookiejar
import json
import re
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request

PASSWORD = "bench password of the console"


def users_add(binary, store):
    for args in (["users", "add", "bench", "--role", "admin"], ["users", "passwd", "bench"]):
        out = subprocess.run([binary, *args, "--password-stdin", "--store", store],
                             input=PASSWORD + "\n", capture_output=True, text=True)
        if out.returncode == 0:
            return
    sys.exit(f"cannot add the bench user: {out.stderr}")


def serve(binary, store):
    proc = subprocess.Popen([binary, "serve", "--store", store, "--listen", "127.0.0.1:0"],
                            stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while time.time() < deadline:
        line = proc.stderr.readline()
        m = re.search(r"console on (http://[0-9.:]+)/", line)
        if m:
            return proc, m.group(1)
        if proc.poll() is not None:
            break
    proc.kill()
    sys.exit("the console did not start")


class Client:
    def __init__(self, base):
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        self.csrf = ""

    def request(self, path, data=None, headers=None):
        req = urllib.request.Request(self.base + path, data=data, headers=headers or {})
        with self.opener.open(req, timeout=60) as res:
            return res.status, res.read()

    def login(self):
        _, form = self.request("/login")
        token = re.search(rb'name="csrf_token" value="([^"]+)"', form).group(1).decode()
        body = urllib.parse.urlencode(
            {"csrf_token": token, "username": "bench", "password": PASSWORD}).encode()
        self.request("/login", body, {"Content-Type": "application/x-www-form-urlencoded"})
        _, me = self.request("/api/v1/session")
        self.csrf = json.loads(me)["csrf_token"]


def pages(client):
    """The pages and routes measured, with what each needs from the store."""
    _, alerts = client.request("/api/v1/alerts?severity=high")
    items = json.loads(alerts)
    items = items.get("alerts", items) if isinstance(items, dict) else items
    alert = items[0]["alert"]["id"] if items else None
    _, overview = client.request("/api/v1/overview")
    top = json.loads(overview)["top_principals"]["rows"]
    principal = top[0][0] if top else "nobody"
    sql = json.dumps({"query": "SELECT action, count(*) AS n FROM events "
                      "WHERE time >= now() - INTERVAL '1 day' GROUP BY action "
                      "ORDER BY n DESC LIMIT 20"}).encode()
    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 86400))
    out = [
        ("overview /", "/", None),
        ("alerts queue /alerts", "/alerts", None),
        ("daily review /review", "/review", None),
        ("rules /rules", "/rules", None),
        ("search /search?principal=", "/search?" + urllib.parse.urlencode(
            {"principal": principal, "since": since}), None),
        ("search, all time", "/search?" + urllib.parse.urlencode({"principal": principal}), None),
        ("SQL POST /api/v1/sql", "/api/v1/sql", sql),
        ("GET /api/v1/overview", "/api/v1/overview", None),
        ("GET /api/v1/alerts", "/api/v1/alerts", None),
        ("GET /metrics", "/metrics", None),
    ]
    if alert:
        out.insert(2, ("incident /alerts/{id}", f"/alerts/{urllib.parse.quote(alert)}", None))
        out.append(("GET /api/v1/incidents/{id}", f"/api/v1/incidents/{urllib.parse.quote(alert)}", None))
    return out


def measure(client, path, body, runs):
    headers = {"Content-Type": "application/json", "X-CSRF-Token": client.csrf} if body else {}
    times, size, status = [], 0, 0
    for i in range(3 + runs):
        start = time.perf_counter()
        status, data = client.request(path, body, headers)
        took = (time.perf_counter() - start) * 1000
        size = len(data)
        if i >= 3:
            times.append(took)
    times.sort()
    p95 = times[min(len(times) - 1, int(round(0.95 * len(times))) - 1)]
    return statistics.median(times), p95, times[-1], size, status


def fresh(client, runs):
    """The overview without its minute's cache, and incidents seen for the first time."""
    for name, path in (("overview / made afresh", "/?hours=%d"),
                       ("GET /api/v1/overview made afresh", "/api/v1/overview?hours=%d")):
        times = []
        for hours in range(24, 24 + runs):
            start = time.perf_counter()
            client.request(path % hours)
            times.append((time.perf_counter() - start) * 1000)
        times.sort()
        p95 = times[min(len(times) - 1, int(round(0.95 * len(times))) - 1)]
        print(f"{name:34} p50 {statistics.median(times):7.1f} ms  p95 {p95:7.1f} ms  "
              f"max {times[-1]:7.1f} ms", flush=True)
    _, alerts = client.request("/api/v1/alerts?severity=high")
    items = json.loads(alerts)
    items = items.get("alerts", items) if isinstance(items, dict) else items
    for item in items[:3]:
        path = "/alerts/" + urllib.parse.quote(item["alert"]["id"])
        took = []
        for _ in range(2):
            start = time.perf_counter()
            client.request(path)
            took.append((time.perf_counter() - start) * 1000)
        print(f"incident {path}: first view {took[0]:.0f} ms, second {took[1]:.0f} ms", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("store")
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--fresh", action="store_true")
    a = ap.parse_args()
    users_add(a.binary, a.store)
    proc, base = serve(a.binary, a.store)
    try:
        client = Client(base)
        client.login()
        if a.fresh:
            fresh(client, a.runs)
            return
        rows = []
        for name, path, body in pages(client):
            p50, p95, worst, size, status = measure(client, path, body, a.runs)
            print(f"{name:34} {status} p50 {p50:7.1f} ms  p95 {p95:7.1f} ms  max {worst:7.1f} ms  "
                  f"{size:9,} bytes", flush=True)
            rows.append((name, p50, p95, worst, size))
        print(f"\n| page ({a.runs} warm requests each) | p50 ms | p95 ms | max ms | bytes |")
        print("|---|---|---|---|---|")
        for name, p50, p95, worst, size in rows:
            print(f"| {name} | {p50:.1f} | {p95:.1f} | {worst:.1f} | {size:,} |")
    finally:
        proc.terminate()
        proc.wait()


if __name__ == "__main__":
    main()
