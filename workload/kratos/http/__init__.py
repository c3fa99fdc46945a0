"""The HTTP toolkit, without domain knowledge: error JSON, responses, body decoding, middleware."""
