"""Wiring: the registry of services built from the config, the two ASGI apps and the runner."""
