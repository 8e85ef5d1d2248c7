"""Benchmarks of every hot path against its raw baseline. Run: ``python -m benchmarks run``."""
