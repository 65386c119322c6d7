#!/usr/bin/env python3
"""Where the bytes of a store's `raw` column go (issue 21). Needs pyarrow (pip install pyarrow).

    python3 bench/raw_size.py STORE_DIR options   # `raw` rewritten with other zstd levels, page
                                                  # sizes and sort orders, per file, sizes in MB
    python3 bench/raw_size.py STORE_DIR fields    # what removing each top-level field from every
                                                  # record saves (zstd 1, per file), and the
                                                  # random identifiers compressed on their own
"""

import base64
import collections
import glob
import io
import json
import sys

import pyarrow as pa
import pyarrow.parquet as pq


def files(store):
    return sorted(glob.glob(store + "/provider=*/dt=*/*.parquet"))


def raw_bytes(table, **kw):
    out = io.BytesIO()
    pq.write_table(table.select(["raw"]), out, compression="zstd", use_dictionary=False, **kw)
    md = pq.ParquetFile(io.BytesIO(out.getvalue())).metadata
    return sum(md.row_group(i).column(0).total_compressed_size for i in range(md.num_row_groups))


def options(store):
    tables = [pq.read_table(f) for f in files(store)]
    sort = lambda cols: [(c, "ascending") for c in cols]
    runs = [("as stored, zstd 1, 1 MiB pages", None, {"compression_level": 1})]
    for level in (3, 9, 15):
        runs.append((f"zstd {level}, 1 MiB pages", None, {"compression_level": level}))
    for level in (3, 9, 15):
        runs.append((f"zstd {level}, 8 MiB pages", None,
                     {"compression_level": level, "data_page_size": 8 << 20}))
    for cols in (["time"], ["service", "action", "principal", "user_agent", "source_ip", "time"],
                 ["principal", "action", "time"]):
        runs.append(("zstd 1, sorted by " + ", ".join(cols), sort(cols), {"compression_level": 1}))
    for name, order, kw in runs:
        total = sum(raw_bytes(t.sort_by(order) if order else t, **kw) for t in tables)
        print(f"{total / 1e6:7.2f} MB  {name}", flush=True)


def zstd(text):
    return pa.compress(text.encode(), codec="zstd").size


def fields(store):
    parsed = []
    for f in files(store):
        parsed.append([json.loads(r) for r in pq.read_table(f, columns=["raw"]).column("raw").to_pylist()])
    dumps = lambda group, drop: "\n".join(
        json.dumps({k: v for k, v in r.items() if k != drop}) for r in group)
    base = sum(zstd(dumps(g, None)) for g in parsed)
    print(f"all fields (re-serialized): {base / 1e6:.2f} MB")
    keys = collections.Counter(k for g in parsed for r in g for k in r)
    for key, n in keys.most_common():
        saved = base - sum(zstd(dumps(g, key)) for g in parsed)
        print(f"  without {key:30s} ({n:7d} records) saves {saved / 1e6:6.2f} MB", flush=True)
    ids = collections.Counter()
    binary = collections.Counter()
    for g in parsed:
        values = collections.defaultdict(list)
        for r in g:
            for k in ("eventID", "sharedEventID", "requestID"):
                if k in r:
                    values[k].append(str(r[k]))
            extra = r.get("additionalEventData")
            if isinstance(extra, dict) and "x-amz-id-2" in extra:
                values["x-amz-id-2"].append(str(extra["x-amz-id-2"]))
        for k, v in values.items():
            ids[k] += zstd("\n".join(v))
            for s in v:
                try:
                    binary[k] += len(base64.b64decode(s)) if k == "x-amz-id-2" else len(s.replace("-", "")) // 2
                except ValueError:
                    binary[k] += len(s)
    for k in ids:
        print(f"identifier {k}: {ids[k] / 1e6:.2f} MB compressed, {binary[k] / 1e6:.2f} MB as binary")
    print(f"identifiers: {sum(ids.values()) / 1e6:.2f} MB compressed, {sum(binary.values()) / 1e6:.2f} MB as binary")


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[2] not in ("options", "fields"):
        sys.exit(__doc__)
    {"options": options, "fields": fields}[sys.argv[2]](sys.argv[1])
