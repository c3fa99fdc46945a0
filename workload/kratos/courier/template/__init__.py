"""Courier message templates: Go template syntax, the built-in texts, and overrides from config."""
