"""The kpi service."""
