"""Hooks run after a flow succeeds."""
