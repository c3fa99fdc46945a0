"""The ``passkey`` method: discoverable credentials that sign in without an identifier."""
