"""The profile method: traits at registration and in settings."""
