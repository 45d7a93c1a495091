"""Tools that run the whole stack as real processes: the benchmark and the pieces the tests share with it.

- `tools.supervisor`: the one process supervisor (a Temporal dev server, workers and the API on free
  loopback ports, each with its log), and the exit that avoids the SDK's crash at interpreter exit.
- `tools.loadgen`: open- and closed-loop load over HTTP (aiohttp), latency figures and CPU per process.
- `tools.bench`: `python -m tools.bench`, whole orders through the API against a bare Temporal workflow.
"""
