"""Shared parts of the benchmark scripts in bench/: running one measured
process (procs), the workloads (catalog), the profilers compared (tools), and
statistics and tables (stats).  Standard library only; the profilers compared
come from bench/requirements.txt."""
