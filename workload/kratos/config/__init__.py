"""Kratos configuration: kratos.yaml files plus environment overrides, typed and validated."""
