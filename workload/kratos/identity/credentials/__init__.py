"""Typed views of credential configs, in the JSON form upstream stores them."""
