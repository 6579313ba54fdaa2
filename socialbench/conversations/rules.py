"""The text rules as one vectorised Arrow function, the same on every engine.

The plan's table ``texts`` (seq, probe, text, reply, first_reply, moved) goes through
``classify_batch`` batch by batch: DuckDB's batches on a pool of threads (Arrow's regular
expressions release the GIL), Spark's through ``mapInArrow``. The rules themselves are
``socialbench.measure.classify`` (RE2 patterns applied by Arrow), so both engines give the same
answers whatever their own regular-expression dialects.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from socialbench.conversations.plan import REPLY_BITS
from socialbench.measure import classify
from socialbench.measure.arrays import arrow, bools

FLAGS_SCHEMA = pa.schema(
    [
        ("seq", pa.int64()),
        ("probe", pa.int64()),
        ("reply", pa.bool_()),
        ("first_reply", pa.bool_()),
        ("moved", pa.bool_()),
        ("types", pa.int32()),
        ("acknowledges", pa.bool_()),
        ("confirms", pa.bool_()),
    ]
)


def classify_batch(batch: pa.RecordBatch) -> pa.RecordBatch:
    """The rules a message needs: reply types for brand replies, ack_only's wording for a
    first reply that has none of them, confirmation for the customer's follow-ups."""
    n = batch.num_rows
    reply = bools(batch.column("reply"))
    first = bools(batch.column("first_reply"))
    text = batch.column("text")
    types = np.zeros(n, dtype=np.int32)
    replies = np.flatnonzero(reply)
    if len(replies):
        found = classify.reply_types(_prepared(text, replies))
        for name, bit in REPLY_BITS.items():
            types[replies] |= np.where(found[name], bit, 0).astype(np.int32)
    acknowledges = np.zeros(n, dtype=bool)
    plain_first = np.flatnonzero(first & (types == 0))
    if len(plain_first):
        acknowledges[plain_first] = classify.acknowledges(_prepared(text, plain_first))
    confirms = np.zeros(n, dtype=bool)
    follow_ups = np.flatnonzero(~reply)
    if len(follow_ups):
        confirms[follow_ups] = classify.resolutions(_prepared(text, follow_ups))
    columns = [
        batch.column("seq"),
        batch.column("probe"),
        arrow(reply),
        arrow(first),
        arrow(bools(batch.column("moved"))),
        arrow(types),
        arrow(acknowledges),
        arrow(confirms),
    ]
    return pa.RecordBatch.from_arrays(
        [c.cast(f.type) for c, f in zip(columns, FLAGS_SCHEMA, strict=True)], schema=FLAGS_SCHEMA
    )


def _prepared(text: pa.Array, rows: np.ndarray) -> pa.Array:
    return classify.prepare_arrow(text.take(arrow(rows)))
