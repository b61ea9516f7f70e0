"""The performance tools: `onething bench` (the command: `starter.cli_bench`).

It starts an embedded dev server of its own (a temporary SQLite file, free ports: never the
user's 7233/8233) and the production worker (`worker.build_workers`) in a separate process,
and measures against a bare workflow on the same server:

- `bench.harness`: N applications along one path with simulated staff, the bare workflow's
  phase, the worker's memory with applications left open (`run_bench`);
- `bench.mixed`: the mixed soak, every kind of application at once until each ends
  (`bench.mixed_plan`, `bench.mixed_report`);
- `bench.paths` (the paths, targets and submissions), `bench.bare` (the bare workflow),
  `bench.worker_process`, `bench.environment`, `bench.measure`, `bench.targets` (issue 18's),
  `bench.printing` (the tables).
"""
