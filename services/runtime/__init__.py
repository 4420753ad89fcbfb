"""Runtime shared by every service and the gateway; imports no single service."""
