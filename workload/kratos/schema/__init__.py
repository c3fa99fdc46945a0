"""Identity schema loading, the ory.sh/kratos extension and traits validation."""

from kratos.schema.errors import FieldError, SchemaLoadError, TraitsValidationError
from kratos.schema.extension import TraitsExtension
from kratos.schema.loader import load_schemas, parse_schema
from kratos.schema.model import IdentitySchema, SchemaRegistry
from kratos.schema.urls import decode_schema_id, encode_schema_id, schema_url

__all__ = [
    "FieldError",
    "IdentitySchema",
    "SchemaLoadError",
    "SchemaRegistry",
    "TraitsExtension",
    "TraitsValidationError",
    "decode_schema_id",
    "encode_schema_id",
    "load_schemas",
    "parse_schema",
    "schema_url",
]
