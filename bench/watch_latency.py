#!/usr/bin/env python3
"""Latency of `trailwatch watch`: from a CloudTrail object being visible in S3 to its alert
being delivered to a webhook.

Starts moto's S3 server (PyPI `moto[server]`) and an HTTP receiver on loopback, optionally
fills the bucket with a simulated background corpus (so that every poll lists a realistic
number of objects), starts `trailwatch watch`, then ROUNDS times uploads one gzip CloudTrail
file in which a new principal calls StopLogging (a new incident each round) at a random moment
of the poll cycle. The clock starts when `put_object` returns (the object is visible to a LIST)
and stops when the receiver has read the alert's POST. Prints min/median/p90/max.

    bench/watch_latency.py [--bin target/release/trailwatch] [--rounds 20] [--poll 1s]
                           [--background-events 20000]
"""

import argparse
import gzip
import http.server
import json
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import boto3


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listen(port, proc, what):
    deadline = time.time() + 60
    while time.time() < deadline:
        if proc.poll() is not None:
            sys.exit(f"{what} exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    sys.exit(f"{what} did not listen")


ANSI = re.compile(r"\x1b\[[0-9;]*m")
ARRIVALS = {}
ARRIVED = threading.Condition()


class Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        t = time.monotonic()
        try:
            principal = json.loads(body).get("principal", "")
        except ValueError:
            principal = ""
        with ARRIVED:
            ARRIVALS.setdefault(principal, t)
            ARRIVED.notify_all()
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def record(i, account, region):
    user = f"bench-intruder-{i:04d}"
    return {
        "eventVersion": "1.08",
        "eventID": f"bench0000-0000-0000-0000-{i:012d}",
        "eventTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "eventSource": "cloudtrail.amazonaws.com",
        "eventName": "StopLogging",
        "awsRegion": region,
        "sourceIPAddress": "198.51.100.77",
        "userAgent": "aws-cli/2.15.0",
        "userIdentity": {
            "type": "IAMUser",
            "arn": f"arn:aws:iam::{account}:user/{user}",
            "accountId": account,
            "userName": user,
        },
        "recipientAccountId": account,
        "requestParameters": {"name": f"arn:aws:cloudtrail:{region}:{account}:trail/main"},
        "eventType": "AwsApiCall",
    }, f"arn:aws:iam::{account}:user/{user}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(
        os.environ.get("CARGO_TARGET_DIR", "target"), "release", "trailwatch"))
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--poll", default="1s")
    ap.add_argument("--background-events", type=int, default=20000,
                    help="events/day of the simulated background corpus (0: empty bucket)")
    a = ap.parse_args()
    if not os.path.isfile(a.bin):
        sys.exit(f"{a.bin}: build it first (cargo build --release -p trailwatch)")

    tmp = tempfile.mkdtemp(prefix="tw-latency-")
    procs = []
    try:
        moto_port = free_port()
        moto = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(moto_port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(moto)
        wait_listen(moto_port, moto, "moto")
        url = f"http://127.0.0.1:{moto_port}"
        s3 = boto3.client("s3", endpoint_url=url, region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")
        s3.create_bucket(Bucket="trail")

        background = 0
        if a.background_events > 0:
            corpus = os.path.join(tmp, "corpus")
            subprocess.run([a.bin, "simulate", "--out", corpus, "--provider", "aws", "--days", "1",
                            "--events-per-day", str(a.background_events), "--no-attacks"],
                           check=True, stderr=subprocess.DEVNULL)
            for root, _, files in os.walk(corpus):
                for f in files:
                    if f.endswith(".json.gz"):
                        p = os.path.join(root, f)
                        s3.upload_file(p, "trail", os.path.relpath(p, corpus))
                        background += 1

        hook_port = free_port()
        server = http.server.ThreadingHTTPServer(("127.0.0.1", hook_port), Hook)
        threading.Thread(target=server.serve_forever, daemon=True).start()

        store = os.path.join(tmp, "store")
        config = os.path.join(tmp, "trailwatch.toml")
        with open(config, "w") as f:
            f.write(f"""
[store]
dir = {json.dumps(store)}
[watch]
poll_interval = {json.dumps(a.poll)}
[[sources]]
name = "trail"
kind = "s3"
bucket = "trail"
region = "us-east-1"
endpoint = {json.dumps(url)}
allow_http = true
access_key_id = "testing"
secret_access_key_env = "TW_BENCH_S3_SECRET"
[[sinks]]
name = "hook"
kind = "webhook"
url = "http://127.0.0.1:{hook_port}/"
secret_env = "TW_BENCH_HOOK_SECRET"
""")
        env = dict(os.environ, TW_BENCH_S3_SECRET="testing", TW_BENCH_HOOK_SECRET="bench")
        log = open(os.path.join(tmp, "watch.log"), "w")
        watch = subprocess.Popen([a.bin, "watch", "--config", config], env=env,
                                 stdout=subprocess.DEVNULL, stderr=log)
        procs.append(watch)
        # The first pass stores the background corpus; wait until it is done.
        t0 = time.monotonic()
        ingested = 0
        while ingested < background and time.monotonic() - t0 < 600:
            time.sleep(0.5)
            with open(os.path.join(tmp, "watch.log")) as f:
                lines = [ANSI.sub("", l) for l in f]
            ingested = sum(int(l.split("objects=")[1].split()[0])
                           for l in lines if "objects=" in l)
        print(f"background: {background} objects stored in {time.monotonic() - t0:.1f}s",
              file=sys.stderr)

        latencies = []
        accounts = ["111122223333", "444455556666"]
        for i in range(a.rounds):
            time.sleep(random.uniform(0.2, 1.5))
            account, region = random.choice(accounts), random.choice(["us-east-1", "eu-west-1"])
            rec, principal = record(i, account, region)
            body = gzip.compress(json.dumps({"Records": [rec]}).encode())
            stamp = time.strftime("%Y%m%dT%H%MZ", time.gmtime())
            key = (f"AWSLogs/{account}/CloudTrail/{region}/{time.strftime('%Y/%m/%d')}/"
                   f"{account}_CloudTrail_{region}_{stamp}_bench{i:04d}.json.gz")
            s3.put_object(Bucket="trail", Key=key, Body=body)
            visible = time.monotonic()
            with ARRIVED:
                ok = ARRIVED.wait_for(lambda: principal in ARRIVALS, timeout=60)
            if not ok:
                sys.exit(f"round {i}: no alert within 60 s (log: {tmp}/watch.log)")
            latencies.append(ARRIVALS[principal] - visible)
        watch.terminate()
        watch.wait(timeout=30)
        ms = sorted(x * 1000 for x in latencies)
        p90 = ms[min(len(ms) - 1, int(round(0.9 * (len(ms) - 1))))]
        print(f"poll_interval={a.poll} background_objects={background} rounds={len(ms)}")
        print(f"object visible -> alert delivered (ms): min {ms[0]:.0f}  median "
              f"{statistics.median(ms):.0f}  p90 {p90:.0f}  max {ms[-1]:.0f}")
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
