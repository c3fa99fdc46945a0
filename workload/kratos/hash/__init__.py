"""Password hashing and verification of imported hashes."""
