"""The probe table in, figures out: every number of ``../shared/METRICS.md`` defined once.

- ``classify``: the text rules (link, dm, phone, email, ack-only, the customer's
  confirmation), the patterns every engine applies;
- ``calendar``: support hours and the business clock;
- ``metrics``: the aggregates of a probe table, in plain Python and numpy (the definitions,
  and the oracle the tests hold the engines to);
- ``aggregate``: the same aggregates as SQL run where the probe table lives (DuckDB or
  Spark), shaped into ``summary.json`` by ``summaries``;
- ``summaries``: ``summary.json``'s groupings and shape, read back without pandas;
- ``compare``: two finished runs' figures, side by side.
"""
