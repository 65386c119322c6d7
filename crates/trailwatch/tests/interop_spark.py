# Apache Spark (pyspark, local mode, no network) over a trailwatch store, for
# crates/trailwatch/tests/interop.rs. Arguments: the store directory, a scratch directory, and a
# JSON object {name: SQL}. The store is read the way Spark users read a Hive-partitioned lake:
# spark.read.parquet on its root, partitions discovered from the provider=/dt= paths (the
# store's `_ledger/`, `_tmp/`, ... are skipped by Spark as hidden), partition values kept as
# strings (as the README's DDL declares them). Prints one JSON object: the schema Spark read
# (name and Hive type of every column, partition columns last), the files it read, and each
# query's rows.
import json
import os
import sys

from pyspark.sql import SparkSession

store, scratch, queries = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
spark = (
    SparkSession.builder.master("local[1]")
    .appName("trailwatch-interop")
    .config("spark.driver.memory", "512m")
    .config("spark.ui.enabled", "false")
    .config("spark.driver.host", "127.0.0.1")
    .config("spark.driver.bindAddress", "127.0.0.1")
    .config("spark.sql.shuffle.partitions", "1")
    .config("spark.sql.session.timeZone", "UTC")
    .config("spark.sql.sources.partitionColumnTypeInference.enabled", "false")
    .config("spark.sql.warehouse.dir", os.path.join(scratch, "warehouse"))
    .config("spark.local.dir", os.path.join(scratch, "local"))
    .getOrCreate()
)
spark.sparkContext.setLogLevel("ERROR")
events = spark.read.parquet(store)
events.createOrReplaceTempView("events")
out = {
    "schema": [[f.name, f.dataType.simpleString()] for f in events.schema.fields],
    "files": sorted(events.inputFiles()),
    "results": {},
}
for name, sql in queries.items():
    rows = spark.sql(sql).collect()
    out["results"][name] = [r.asDict() for r in rows]
spark.stop()
print(json.dumps(out, default=str))
