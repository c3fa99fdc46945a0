"""UI containers, nodes and the upstream text messages."""
