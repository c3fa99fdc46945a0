"""ASGI applications for the public and admin ports."""
