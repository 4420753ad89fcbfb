"""Deployment artefacts: Prometheus rules and their promtool unit tests."""
