"""Benchmarks of the SDK against hand-written baselines: ``python -m bench.run``."""
