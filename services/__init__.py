"""Integra services: a shared runtime and the scoring, risk and kpi services."""
