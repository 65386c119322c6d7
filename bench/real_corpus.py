#!/usr/bin/env python3
"""A benchmark corpus made of the real CloudTrail records in ../shared/datasets/aws.

Every record of the public datasets (the SANS lab, the Invictus IR Stratus detonations, the
Stratus Red Team samples, TrailDiscover) is written COPIES times, each copy with fresh event ids
(derived from the original id and the copy number, so the corpus is the same on every run) and
its days shifted by COPIES_SPAN days per copy, in the S3 delivery layout CloudTrail uses
(AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/<account>_CloudTrail_<region>_<stamp>_<n>.json.gz)
with about 1,000 records a file. Ten copies are about 334,000 records; the store issue's
benchmark uses the same corpus.

    python3 bench/real_corpus.py OUT_DIR [--copies 10] [--per-file 1000]
"""

import argparse
import datetime as dt
import gzip
import json
import os
import sys
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
DATASETS = os.path.join(HERE, "..", "..", "shared", "datasets", "aws")
SHIFT_DAYS = 400  # between copies: the datasets' own spans never overlap once shifted


def records(root):
    """Every CloudTrail record under root (Records documents, arrays, JSON lines; gzip too)."""
    for base, _, names in sorted(os.walk(root)):
        for name in sorted(names):
            path = os.path.join(base, name)
            with open(path, "rb") as f:
                data = f.read()
            if data[:2] == b"\x1f\x8b":
                data = gzip.decompress(data)
            text = data.decode("utf-8", errors="replace").strip()
            docs = []
            try:
                docs = [json.loads(text)]
            except ValueError:
                for line in text.splitlines():
                    line = line.strip()
                    if line:
                        try:
                            docs.append(json.loads(line))
                        except ValueError:
                            pass
            for doc in docs:
                items = doc.get("Records", [doc]) if isinstance(doc, dict) else doc
                for r in items if isinstance(items, list) else []:
                    if isinstance(r, dict) and "eventName" in r and "eventTime" in r:
                        yield r


def parse_time(s):
    return dt.datetime.strptime(s[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=dt.timezone.utc)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--copies", type=int, default=10)
    ap.add_argument("--per-file", type=int, default=1000)
    args = ap.parse_args()
    base = sorted(records(DATASETS), key=lambda r: r["eventTime"])
    if not base:
        sys.exit(f"no records under {DATASETS}")
    files = written = 0
    for copy in range(args.copies):
        shift = dt.timedelta(days=SHIFT_DAYS * copy)
        # (account, region, day) -> records, cut into files of --per-file records
        batches = {}
        for r in base:
            t = parse_time(r["eventTime"]) + shift
            c = dict(r)
            c["eventTime"] = t.strftime("%Y-%m-%dT%H:%M:%SZ")
            if copy:
                c["eventID"] = str(uuid.uuid5(uuid.NAMESPACE_OID, f"{r.get('eventID', '')}/{copy}"))
            account = str(c.get("recipientAccountId") or "000000000000")
            region = c.get("awsRegion") or "us-east-1"
            key = (account, region, t.strftime("%Y%m%dT0000Z"))
            batches.setdefault(key, []).append(c)
        for (account, region, stamp), recs in sorted(batches.items()):
            day = dt.datetime.strptime(stamp, "%Y%m%dT0000Z")
            folder = os.path.join(args.out, "AWSLogs", account, "CloudTrail", region,
                                  day.strftime("%Y"), day.strftime("%m"), day.strftime("%d"))
            os.makedirs(folder, exist_ok=True)
            for i in range(0, len(recs), args.per_file):
                chunk = recs[i:i + args.per_file]
                name = f"{account}_CloudTrail_{region}_{stamp}_{copy:02d}{i // args.per_file:04d}.json.gz"
                with gzip.open(os.path.join(folder, name), "wb", compresslevel=6) as f:
                    f.write(json.dumps({"Records": chunk}, separators=(",", ":")).encode())
                files += 1
                written += len(chunk)
    print(f"{written} records in {files} files ({len(base)} real records x {args.copies} copies) in {args.out}")


if __name__ == "__main__":
    main()
