"""Courier: outgoing messages."""
