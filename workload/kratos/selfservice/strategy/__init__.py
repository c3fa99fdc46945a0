"""Authentication methods: one package each, taking part in the flows they support."""
