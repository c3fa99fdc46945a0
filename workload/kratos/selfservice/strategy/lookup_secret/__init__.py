"""The ``lookup_secret`` method: backup codes as a second factor."""
