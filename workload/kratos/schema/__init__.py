"""Identity schema loading, the ory.sh/kratos extension and traits validation."""
