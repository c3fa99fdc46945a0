"""The smallest valid kratos.yml, shared by the config tests."""

MINIMAL = """
dsn: memory
identity:
  schemas:
    - id: default
      url: file:///etc/identity.schema.json
selfservice:
  default_browser_return_url: http://127.0.0.1:4455/
"""
