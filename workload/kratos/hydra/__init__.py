"""Ory Hydra: Kratos as Hydra's login provider (its admin API's login and logout challenges)."""

from kratos.hydra.client import HydraClient, LoginRequest, LogoutRequest

__all__ = ["HydraClient", "LoginRequest", "LogoutRequest"]
