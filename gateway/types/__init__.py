"""Strawberry types of the gateway, one module per service."""
