"""The ``totp`` method: authenticator apps as a second factor."""
