"""Self-service flows (login, registration, settings, logout, errors), their methods and hooks."""
