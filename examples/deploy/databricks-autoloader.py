# Databricks Auto Loader over sluice's storage: the batches are Hive-partitioned gzip JSON Lines,
#   s3://my-bucket/raw/{source}/{stream}/dt=YYYY-MM-DD/hr=HH/{part}.jsonl.gz
# so Spark reads dt and hr as partition columns. Batches are immutable: each file is read once.
from pyspark.sql import functions as F

source, stream = "amplitude", "events"
base = f"s3://my-bucket/raw/{source}/{stream}/"

events = (
    spark.readStream.format("cloudFiles")
    .option("cloudFiles.format", "text")            # one record per line, kept whole (bronze)
    .option("cloudFiles.partitionColumns", "dt,hr")
    .option("pathGlobFilter", "*.jsonl.gz")
    .load(base)
    .withColumn("_batch", F.col("_metadata.file_path"))
    .withColumnRenamed("value", "data")
)

(
    events.writeStream
    .option("checkpointLocation", f"s3://my-bucket/_checkpoints/{source}_{stream}")
    .trigger(availableNow=True)
    .toTable(f"bronze.{source}_{stream}")
)

# Batch read of the same layout (plain Spark):
# spark.read.text(base).where("dt >= '2025-01-01'")
