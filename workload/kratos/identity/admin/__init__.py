"""The identity admin API: request bodies, credential import and handlers."""
