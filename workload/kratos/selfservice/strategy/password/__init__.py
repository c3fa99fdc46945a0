"""The password method: registration, login and settings."""
