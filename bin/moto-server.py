"""moto's server, with the few things Sluice depends on made as AWS documents them.

1. DynamoDB's requests made atomic. moto serves requests on threads, and its DynamoDB backend checks
   a ConditionExpression and then applies the update without a lock: two concurrent UpdateItem
   calls with the same condition can both succeed (measured here: 4 double successes in 150 rounds
   of three concurrent starts). It also applies an update to the stored item in place, one action
   after another, while a read serialises that same item: a read can see half a write (a task's
   version bumped by its start, its status still QUEUED), and a control decided on it overwrote the
   running attempt. AWS guarantees a conditional write is atomic and a read never sees part of
   one, and Sluice's exclusive start depends on both, so every DynamoDB request — its work and
   its answer — is served under one lock.
2. SQS event source mappings stored, never executed. moto runs an enabled SQS mapping's function
   inside SendMessage (in Docker, which is not here: every send would fail an invocation and count
   a receive toward the dead-letter queue). The local runtime plays the mapping's poller instead
   and obeys the mapping's Enabled switch, which it reads through the Lambda API.
3. Percentile statistics (p50, p95, p99.9 …) in GetMetricData, which moto answers with nothing.
4. AWS/SQS ApproximateAgeOfOldestMessage per queue (AWS computes it; moto publishes no SQS metrics).
5. GetMetricData of metric queries indexed by metric: moto scans every stored datum for every
   query and every period (35 queries over an hour of a busy runtime took seconds and held the
   server's lock); the answers are the same, and a query's namespace is honoured as on AWS.
6. DynamoDB's item operations and the stream's GetRecords answered as plain JSON. moto walks every
   answer through its generic, shape-driven serializer, which took two thirds of the server's CPU
   under a backlog (measured with py-spy: every attribute of every history entry of every item and
   stream image, looked up by several name variants); the DynamoDB JSON it builds is the answer
   already, so it is encoded as it is (blobs in base64, dates in epoch seconds, as that serializer
   writes them). Anything else keeps the serializer.
7. Routing a request to its service without listing moto's package directory each time. moto's
   dispatcher asks, for every request and under one lock, whether the host names a moto module —
   by listing the package directory and testing each entry with isdir — before matching the URL
   patterns. Under a backlog a quarter of the server's samples waited on that lock (py-spy). The
   answer for a host never changes while the server runs, so it is remembered per host. Werkzeug's
   line per request is not written either (the runtime keeps only the stderr tail, for startup
   errors; a busy runtime spent its time formatting and piping lines nobody reads).
8. Served by waitress (pinned, from PyPI) instead of werkzeug's development server, which answers
   every request with `Connection: close`: each SDK request opened a TCP connection and the
   server a thread for it, then waited 10 ms draining the socket before closing it. Under a
   backlog that churn was about a fifth of the server's samples (py-spy). waitress keeps the SDK's
   connections alive and serves them from a pool of threads; the app and its answers are the same.
9. A query reads its partition, not the whole table. moto answers every query by collecting every
   item of the table, sorting them all by the table's keys, and keeping those of the partition
   asked for (or, on an index, those with its key), which it then sorts again by the query's own
   key. With thousands of tasks beside the waiters of a limit, that was most of a query's time.
   A base-table query now starts from its partition's items and an index query from the table's
   items unsorted; the matches and their final order (table keys breaking ties) are the same.
"""
import argparse
import base64
import json
import os
import logging
import re
import sys
import threading
import time

from moto.awslambda.models import LambdaBackend
from collections import defaultdict
from datetime import timedelta

from moto.cloudwatch.models import CloudWatchBackend, Dimension, MetricDatum, Statistics
from moto.core.common_models import CloudWatchMetricProvider
import waitress
from moto.core.utils import utcnow
from moto.dynamodb.models.table import Table
from moto.core.responses import ActionResult
from moto.dynamodb.responses import DynamoHandler, DynamoResult
from moto.dynamodbstreams.responses import DynamoDBStreamsHandler
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from moto.sqs.models import sqs_backends

_lock = threading.RLock()


def _serialised(method):
    def wrapper(*args, **kwargs):
        with _lock:
            return method(*args, **kwargs)

    wrapper.__name__ = method.__name__
    return wrapper


# The whole request, answer included: an answer built from a stored item after the lock is let go
# could show a later write's half.
DynamoHandler.call_action = _serialised(DynamoHandler.call_action)

_create_mapping = LambdaBackend.create_event_source_mapping


def _stored_only(self, spec):
    mapping = _create_mapping(self, spec)
    for queue in sqs_backends[self.account_id][self.region_name].queues.values():
        if queue.lambda_event_source_mappings.get(mapping.function_arn) is mapping:
            del queue.lambda_event_source_mappings[mapping.function_arn]
    return mapping


LambdaBackend.create_event_source_mapping = _stored_only

_PERCENTILE = re.compile(r"^p(\d+(?:\.\d+)?)$")
_statistic = Statistics.get_statistics_for_type


def _with_percentiles(self, stat):
    match = _PERCENTILE.match(stat)
    if not match:
        return _statistic(self, stat)
    values = sorted(self.metric_single_values_list)
    if not values:
        return None
    # Nearest rank, as CloudWatch computes percentiles from the raw values EMF publishes.
    rank = max(1, -(-len(values) * float(match.group(1)) // 100))
    return values[int(rank) - 1]


Statistics.get_statistics_for_type = _with_percentiles


class _QueueAges(CloudWatchMetricProvider):
    @staticmethod
    def get_cloudwatch_metrics(account_id, region):
        now_ms = time.time() * 1000
        stamp = utcnow().replace(microsecond=0)
        data = []
        for queue in sqs_backends[account_id][region].queues.values():
            sent = [m.sent_timestamp for m in list(queue._messages) if m.sent_timestamp]
            data.append(
                MetricDatum(
                    namespace="AWS/SQS",
                    name="ApproximateAgeOfOldestMessage",
                    value=max(0, (now_ms - min(sent)) / 1000) if sent else 0,
                    dimensions=[{"Name": "QueueName", "Value": queue.name}],
                    timestamp=stamp,
                    unit="Seconds",
                )
            )
        return data


_get_metric_data = CloudWatchBackend.get_metric_data


def _indexed_metric_data(self, queries, start_time, end_time, scan_by="TimestampAscending"):
    start = start_time.replace(microsecond=0)
    end = end_time.replace(microsecond=0)
    if start >= end or any("MetricStat" not in q for q in queries):
        return _get_metric_data(self, queries, start_time, end_time, scan_by)
    by_metric = defaultdict(list)
    for datum in self.get_all_metrics():
        if start <= datum.timestamp < end:
            by_metric[(datum.namespace, datum.name)].append(datum)
    results = []
    for query in queries:
        stat_query = query["MetricStat"]
        metric = stat_query["Metric"]
        stat = stat_query["Stat"]
        period = int(stat_query["Period"])
        unit = stat_query.get("Unit")
        wanted = sorted(Dimension(d["Name"], d["Value"]) for d in metric.get("Dimensions", []))
        buckets = defaultdict(list)
        for datum in by_metric[(metric["Namespace"], metric["MetricName"])]:
            if wanted and sorted(datum.dimensions) != wanted:
                continue
            if unit and datum.unit != unit:
                continue
            buckets[int((datum.timestamp - start).total_seconds() // period)].append(datum)
        values, timestamps = [], []
        for bucket in sorted(buckets):
            stats = Statistics([stat], start + timedelta(seconds=bucket * period))
            stats.metric_data = buckets[bucket]
            values.append(stats.get_statistics_for_type(stat))
            timestamps.append(stats.timestamp)
        if scan_by == "TimestampDescending":
            values.reverse()
            timestamps.reverse()
        if query.get("ReturnData", True):
            results.append(
                {
                    "id": query["Id"],
                    "label": query.get("Label") or f"{metric['MetricName']} {stat}",
                    "values": values,
                    "timestamps": timestamps,
                    "status_code": "Complete",
                }
            )
    return results


CloudWatchBackend.get_metric_data = _indexed_metric_data

_PLAIN_JSON_OPERATIONS = {
    "GetItem",
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "Query",
    "Scan",
    "BatchGetItem",
    "BatchWriteItem",
    "TransactGetItems",
    "TransactWriteItems",
}
_serialize_dynamo = DynamoResult.execute_result


def _plain(value):
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, set, frozenset)):
        return [_plain(v) for v in value]
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode("ascii")
    if hasattr(value, "timestamp"):
        return value.timestamp()
    return value


def _plain_json(result):
    return 200, {"Content-Type": "application/x-amz-json-1.0"}, json.dumps(_plain(result), separators=(",", ":"))


def _as_plain_json(self, context):
    if context.operation_model.name not in _PLAIN_JSON_OPERATIONS:
        return _serialize_dynamo(self, context)
    return _plain_json(self.result)


DynamoResult.execute_result = _as_plain_json


class _PlainJsonResult(ActionResult):
    def execute_result(self, context):
        return _plain_json(self.result)


_get_records = DynamoDBStreamsHandler.get_records
DynamoDBStreamsHandler.get_records = lambda self: _PlainJsonResult(_get_records(self).result)

_backend_for_host = DomainDispatcherApplication.get_backend_for_host
_backend_by_host = {}


def _remembered_backend(self, host):
    if host not in _backend_by_host:
        _backend_by_host[host] = _backend_for_host(self, host)
    return _backend_by_host[host]


DomainDispatcherApplication.get_backend_for_host = _remembered_backend
logging.getLogger("werkzeug").setLevel(logging.WARNING)

_all_items = Table.all_items
_in_query = threading.local()


def _query_candidates(self):
    """Inside a query: the items it may return, unsorted (it sorts them itself); else all, sorted."""
    scope = getattr(_in_query, "scope", None)
    if scope is None or scope[0] is not self:
        return _all_items(self)
    hash_key = scope[1]
    if hash_key is not None:
        bucket = self.items.get(hash_key)
        if bucket is None:
            return []
        return list(bucket.values()) if self.range_key_attr else [bucket]
    return [item for bucket in self.items.values() for item in (bucket.values() if self.range_key_attr else [bucket])]


_query = Table.query


def _query_of_candidates(self, hash_key, range_comparison, range_objs, limit, start_key, forward, projections, index_name=None, *args, **kwargs):
    _in_query.scope = (self, None if index_name else hash_key)
    try:
        return _query(self, hash_key, range_comparison, range_objs, limit, start_key, forward, projections, index_name, *args, **kwargs)
    finally:
        _in_query.scope = None


Table.all_items = _query_candidates
Table.query = _query_of_candidates


def serve(argv):
    parser = argparse.ArgumentParser()
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=5000)
    args = parser.parse_args(argv)
    os.environ.setdefault("MOTO_PORT", str(args.port))
    app = DomainDispatcherApplication(create_backend_app)
    # Threads: every lane poller's long poll holds one for up to a second (several runtimes share
    # one emulator in the suite), beside the requests being served; idle ones cost nothing.
    # poll() rather than select(): one process per function environment keeps its connections open.
    waitress.serve(
        app,
        host=args.host,
        port=args.port,
        threads=128,
        connection_limit=2000,
        backlog=1024,
        channel_timeout=300,
        asyncore_use_poll=True,
        ident="moto",
        _quiet=True,
    )


if __name__ == "__main__":
    sys.exit(serve(sys.argv[1:]))
