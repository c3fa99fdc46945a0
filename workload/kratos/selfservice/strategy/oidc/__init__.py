"""Social sign-in with OpenID Connect and OAuth2 providers."""
