"""Probes in, a run's store and probe table out: sending a suite's probes to a target as the
customer, watching each conversation for its window, and measuring what came back.

- ``probes``: the Probe, its stable id and the marker its text carries;
- ``pacing``: when each probe is due;
- ``runner``: sends, reconciles after a crash and polls, storing what it observes raw;
- ``store``: ``run.sqlite``, crash-safe;
- ``session``: a run from start (or ``--resume``) to its files;
- ``attribution``: the store's messages -> the probe table (the same plan as recorded
  conversations), with what only a probe run knows put back; recordings;
- ``progress``: the progress line;
- ``connectors/``: the targets (X, the sandbox, a replay of recordings), one registry;
- ``sandbox/``: the simulated platform and its ground truth.
"""
