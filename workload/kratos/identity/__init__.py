"""Identities: model, traits handling and the admin API."""
