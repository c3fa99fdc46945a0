"""A Python identity server that speaks the Ory Kratos API."""

__version__ = "0.1.0"
