"""The Integra benchmark: ``python -m bench`` (see docs/benchmarks.md)."""
