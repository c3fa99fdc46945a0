"""A real OpenID Connect provider on loopback for the social sign-in tests.

Built on authlib's server side (Flask integration): the authorization code grant with the ``OpenIDCode``
extension and PKCE (``CodeChallenge``, S256 only), served by werkzeug on 127.0.0.1 in a thread. Everything
lives in memory. There is no login page: the test says who is signed in (``provider.user``) and
``/authorize`` consents at once, or refuses when ``provider.deny`` names an error.

Claims: the id_token and userinfo carry ``sub``, the standard claims the granted scopes allow (``email``
gives ``email``/``email_verified``, ``profile`` gives ``name`` and the rest), every non-standard claim of the
user (no scope governs those, so a test that sets one wants it seen), and the claims asked for by name in the
``claims`` request parameter (its ``id_token`` and ``userinfo`` members).

Misbehaviour switches, each an attribute a test sets: ``wrong_nonce``, ``wrong_audience``,
``expired_id_token``, ``sign_with_foreign_key``, ``down`` (every endpoint answers 503; ``stop()`` instead
makes the port refuse connections) and ``token_error`` (the token endpoint refuses with that error code).
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from authlib.integrations.flask_oauth2 import AuthorizationServer, ResourceProtector
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import ClientMixin, InvalidRequestError, grants
from authlib.oauth2.rfc6750 import BearerTokenValidator
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import AuthorizationCodeMixin, OpenIDCode, UserInfo, UserInfoEndpoint
from flask import Flask, Response, jsonify, request
from joserfc import jwt
from joserfc.jwk import KeySet, KeySetSerialization, RSAKey
from netutil import free_port
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

#: The nonce a ``wrong_nonce`` provider puts in its id_tokens.
FOREIGN_NONCE = "a-nonce-nobody-sent"
#: The audience a ``wrong_audience`` provider puts in its id_tokens.
FOREIGN_AUDIENCE = "some-other-client"
SCOPES_SUPPORTED = ["openid", "email", "profile", "address", "phone"]
AUTH_METHODS = ("client_secret_basic", "client_secret_post", "none")


@dataclass
class SignedIn:
    """Who consented, as an authorization code and its access token remember it."""

    claims: dict[str, Any]
    requested: dict[str, Any] = field(default_factory=dict)  # the ``claims`` request parameter


@dataclass
class Client(ClientMixin):
    """A registered relying party."""

    client_id: str
    client_secret: str | None
    redirect_uris: list[str]
    token_endpoint_auth_method: str = "client_secret_basic"
    client_metadata: dict[str, Any] = field(default_factory=dict)  # read by authlib's userinfo endpoint

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str:
        return self.redirect_uris[0]

    def get_allowed_scope(self, scope: Collection[str] | str) -> str:
        return scope if isinstance(scope, str) else " ".join(scope)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        return self.client_secret is not None and secrets.compare_digest(client_secret, self.client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return endpoint != "token" or method == self.token_endpoint_auth_method

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "authorization_code"


@dataclass
class AuthorizationCode(AuthorizationCodeMixin):
    """An issued code, redeemable once before ``expires_at``."""

    code: str
    client_id: str
    redirect_uri: str
    scope: str
    user: SignedIn
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    expires_at: float
    auth_time: int = field(default_factory=lambda: int(time.time()))

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return self.auth_time


@dataclass
class AccessToken:
    """An issued bearer token (authlib's TokenMixin, duck-typed)."""

    access_token: str
    client: Client
    user: SignedIn
    scope: str
    expires_at: float

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return int(self.expires_at - time.time())

    def is_expired(self) -> bool:
        return time.time() >= self.expires_at

    def is_revoked(self) -> bool:
        return False

    def get_user(self) -> SignedIn:
        return self.user

    def get_client(self) -> Client:
        return self.client

    def check_client(self, client: Client) -> bool:
        return client.client_id == self.client.client_id


class _QuietHandler(WSGIRequestHandler):
    """No access log; one request per connection, so after ``stop()`` no pooled connection is answered."""

    protocol_version = "HTTP/1.0"

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Tests read what the provider saw from its recorders, not from stderr."""


class OpenIdProvider:
    """An OpenID provider on ``http://127.0.0.1:<port>``; see the module docstring."""

    def __init__(self, *, pkce_advertised: bool = True, code_lifetime: float = 600.0) -> None:
        self.pkce_advertised = pkce_advertised
        self.code_lifetime = code_lifetime
        self.id_token_lifetime = 3600
        self.access_token_lifetime = 3600
        self.user: dict[str, Any] | None = {
            "sub": "oidc-user-1",
            "email": "oidc-user-1@example.com",
            "email_verified": True,
            "name": "OIDC User",
        }
        self.deny: str | None = None
        self.wrong_nonce = False
        self.wrong_audience = False
        self.expired_id_token = False
        self.sign_with_foreign_key = False
        self.down = False
        self.token_error: str | None = None
        self.clients: dict[str, Client] = {}
        self.authorize_requests: list[dict[str, str]] = []
        self.token_requests: list[dict[str, str]] = []
        self.userinfo_calls = 0
        self._codes: dict[str, AuthorizationCode] = {}
        self._tokens: dict[str, AccessToken] = {}
        self._lock = threading.Lock()
        self._key = _new_key()
        self._old_keys: list[RSAKey] = []
        self._foreign_key: RSAKey | None = None
        self._port = free_port()
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self.app = self._build_app()

    # -- lifecycle ---------------------------------------------------------------------------------------

    @property
    def port(self) -> int:
        return self._port

    @property
    def issuer(self) -> str:
        """The base URL, which is also the issuer identifier."""
        return f"http://127.0.0.1:{self._port}"

    def start(self) -> OpenIdProvider:
        """Listen (again, on the same port after a ``stop()``) and serve in a background thread."""
        if self._server is None:
            self._server = make_server(
                "127.0.0.1", self._port, self.app, threaded=True, request_handler=_QuietHandler
            )
            self._thread = threading.Thread(
                target=self._server.serve_forever, args=(0.05,), name="oidc-provider", daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening: connections to the port are refused until ``start()``."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            if self._thread is not None:
                self._thread.join(timeout=5)
            self._server = self._thread = None

    def __enter__(self) -> OpenIdProvider:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- configuration -----------------------------------------------------------------------------------

    def add_client(
        self,
        client_id: str,
        client_secret: str | None,
        redirect_uris: Iterable[str],
        token_endpoint_auth_method: str = "client_secret_basic",
    ) -> Client:
        """Register a relying party; ``redirect_uris`` must hold every URI it will send, exactly."""
        redirect_uris = list(redirect_uris)
        if not redirect_uris:
            raise ValueError("redirect_uris: a client needs at least one")
        if token_endpoint_auth_method not in AUTH_METHODS:
            raise ValueError(
                f"token_endpoint_auth_method: {token_endpoint_auth_method!r} is not one of {AUTH_METHODS}"
            )
        client = Client(client_id, client_secret, redirect_uris, token_endpoint_auth_method)
        self.clients[client_id] = client
        return client

    def rotate_key(self, *, keep_old: bool = False) -> str:
        """Sign with a new RSA key from now on and return its ``kid``; the JWKS keeps the old one if asked."""
        if keep_old:
            self._old_keys.append(self._key)
        else:
            self._old_keys.clear()
        self._key = _new_key()
        return self.kid

    @property
    def kid(self) -> str:
        """The ``kid`` of the signing key."""
        return str(self._key.kid)

    def jwks(self) -> KeySetSerialization:
        """The public JWKS, as ``/jwks`` serves it."""
        return KeySet([self._key, *self._old_keys]).as_dict(private=False)

    def discovery(self) -> dict[str, Any]:
        """The OpenID provider metadata, as ``/.well-known/openid-configuration`` serves it."""
        metadata: dict[str, Any] = {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "userinfo_endpoint": f"{self.issuer}/userinfo",
            "jwks_uri": f"{self.issuer}/jwks",
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": list(AUTH_METHODS),
            "scopes_supported": SCOPES_SUPPORTED,
            "claims_supported": UserInfo.REGISTERED_CLAIMS,
            "claims_parameter_supported": True,
        }
        if self.pkce_advertised:
            metadata["code_challenge_methods_supported"] = ["S256"]
        return metadata

    # -- id_tokens ---------------------------------------------------------------------------------------

    def issue_id_token(self, client_id: str, nonce: str | None = None, **claims: Any) -> str:
        """A signed id_token for ``client_id`` about ``provider.user`` (all its claims), ``claims`` on top.

        The misbehaviour switches apply as they do to the token endpoint's id_tokens.
        """
        payload = {**self._base_claims(client_id), **(self.user or {})}
        if nonce is not None or self.wrong_nonce:
            payload["nonce"] = FOREIGN_NONCE if self.wrong_nonce else nonce
        payload.update(claims)
        return jwt.encode(self._header(), payload, self._signing_key(), ["RS256"])

    def _base_claims(self, client_id: str) -> dict[str, Any]:
        now = int(time.time()) - (7200 if self.expired_id_token else 0)
        audience = FOREIGN_AUDIENCE if self.wrong_audience else client_id
        return {"iss": self.issuer, "aud": audience, "iat": now, "exp": now + self.id_token_lifetime}

    def _header(self) -> dict[str, str]:
        return {"alg": "RS256", "kid": self.kid, "typ": "JWT"}

    def _signing_key(self) -> RSAKey:
        if not self.sign_with_foreign_key:
            return self._key
        if self._foreign_key is None or self._foreign_key.kid != self.kid:
            # Same kid as the published key, so a verifier finds "its" key and the signature fails.
            self._foreign_key = RSAKey.generate_key(
                2048, parameters={"kid": self.kid, "use": "sig", "alg": "RS256"}
            )
        return self._foreign_key

    # -- the Flask app -----------------------------------------------------------------------------------

    def _build_app(self) -> Flask:
        app = Flask(__name__)
        server = _Server(self, app)
        server.register_grant(_CodeGrant, [_S256Only(required=True), _OpenIDCode(self)])
        protector = ResourceProtector()
        protector.register_token_validator(_TokenValidator(self))
        server.register_endpoint(_UserInfo(resource_protector=protector))

        @app.before_request
        def refuse_when_down() -> Response | None:
            if self.down:
                return Response("the provider is down", status=503)
            return None

        @app.get("/.well-known/openid-configuration")
        def discovery() -> Response:
            return jsonify(self.discovery())

        @app.get("/jwks")
        def jwks() -> Response:
            return jsonify(self.jwks())

        @app.get("/authorize")
        def authorize() -> Any:
            self.authorize_requests.append(request.args.to_dict())
            user = self._signed_in()
            try:
                grant = server.get_consent_grant(end_user=user)
            except OAuth2Error as error:  # redirected back when the redirect_uri is the client's
                return server.handle_error_response(server.create_oauth2_request(request), error)
            try:
                requested = _claims_parameter(request.args.get("claims"))
                if user is None:
                    raise OAuth2Error(
                        error="login_required", description="Nobody is signed in at the provider."
                    )
                if self.deny:
                    raise OAuth2Error(error=self.deny, description="The provider refused the request.")
            except OAuth2Error as error:
                error.redirect_uri = grant.redirect_uri
                error.state = request.args.get("state")
                return server.handle_error_response(grant.request, error)
            user.requested = requested
            return server.create_authorization_response(grant=grant, grant_user=user)

        @app.post("/token")
        def token() -> Any:
            self.token_requests.append(request.form.to_dict())
            if self.token_error:
                body = {
                    "error": self.token_error,
                    "error_description": "The provider refused the token request.",
                }
                return jsonify(body), 400
            return server.create_token_response()

        @app.route("/userinfo", methods=["GET", "POST"])
        def userinfo() -> Any:
            with self._lock:
                self.userinfo_calls += 1
            return server.create_endpoint_response("userinfo")

        return app

    def _signed_in(self) -> SignedIn | None:
        if self.user is None:
            return None
        if "sub" not in self.user:
            raise ValueError("provider.user: a signed-in user needs a 'sub' claim")
        return SignedIn(dict(self.user))

    def _save_token(self, token: Mapping[str, Any], oauth_request: Any) -> None:
        expires_at = time.time() + float(token.get("expires_in", self.access_token_lifetime))
        issued = AccessToken(
            token["access_token"],
            oauth_request.client,
            oauth_request.user,
            token.get("scope", ""),
            expires_at,
        )
        with self._lock:
            self._tokens[issued.access_token] = issued

    def _save_code(self, code: AuthorizationCode) -> None:
        with self._lock:
            self._codes[code.code] = code

    def _redeem_code(self, code: str, client: ClientMixin) -> AuthorizationCode | None:
        """The code, removed so that it never works twice; None when unknown, expired or not the client's."""
        with self._lock:
            found = self._codes.pop(code, None)
        if found is None or found.client_id != client.get_client_id() or time.time() >= found.expires_at:
            return None
        return found

    def _nonce_in_use(self, nonce: str, client_id: str) -> bool:
        with self._lock:
            return any(c.nonce == nonce and c.client_id == client_id for c in self._codes.values())

    def _access_token(self, value: str) -> AccessToken | None:
        with self._lock:
            return self._tokens.get(value)


def _new_key() -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": secrets.token_hex(8), "use": "sig", "alg": "RS256"})


def _claims_parameter(raw: str | None) -> dict[str, Any]:
    """The ``claims`` request parameter (OIDC Core 5.5), or an ``invalid_request`` naming it."""
    if not raw:
        return {}
    try:
        parsed = json.loads(raw)
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict):
        raise InvalidRequestError("The 'claims' parameter is not a JSON object.")
    return parsed


def select_claims(user: SignedIn, scope: str, target: str) -> dict[str, Any]:
    """The claims of ``user`` the id_token or userinfo (``target``) carries for ``scope``."""
    allowed = set(UserInfo(user.claims).filter(scope))
    asked = user.requested.get(target)
    if isinstance(asked, dict):
        allowed.update(asked)
    standard = set(UserInfo.REGISTERED_CLAIMS)
    return {k: v for k, v in user.claims.items() if k == "sub" or k in allowed or k not in standard}


class _Server(AuthorizationServer):
    """authlib's Flask authorization server, knowing the provider whose state it keeps."""

    def __init__(self, provider: OpenIdProvider, app: Flask) -> None:
        self.provider = provider
        super().__init__(app, query_client=provider.clients.get, save_token=provider._save_token)


class _CodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = list(AUTH_METHODS)

    @property
    def provider(self) -> OpenIdProvider:
        return self.server.provider

    def save_authorization_code(self, code: str, request: Any) -> None:
        data = request.payload.data
        self.provider._save_code(
            AuthorizationCode(
                code=code,
                client_id=request.client.client_id,
                redirect_uri=request.payload.redirect_uri or "",
                scope=request.scope or "",
                user=request.user,
                nonce=data.get("nonce"),
                code_challenge=data.get("code_challenge"),
                code_challenge_method=data.get("code_challenge_method"),
                expires_at=time.time() + self.provider.code_lifetime,
            )
        )

    def query_authorization_code(self, code: str, client: ClientMixin) -> AuthorizationCode | None:
        return self.provider._redeem_code(code, client)

    def delete_authorization_code(self, authorization_code: AuthorizationCode) -> None:
        """Already gone: redeeming a code removes it."""

    def authenticate_user(self, authorization_code: AuthorizationCode) -> SignedIn:
        return authorization_code.user


class _S256Only(CodeChallenge):
    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]


class _OpenIDCode(OpenIDCode):
    def __init__(self, provider: OpenIdProvider) -> None:
        super().__init__(require_nonce=False)
        self.provider = provider

    def exists_nonce(self, nonce: str, request: Any) -> bool:
        return self.provider._nonce_in_use(nonce, request.payload.client_id)

    def resolve_client_private_key(self, client: Client) -> RSAKey:
        return self.provider._signing_key()

    def get_client_algorithm(self, client: Client) -> str:
        return "RS256"

    def get_encode_header(self, client: Client) -> dict[str, str]:
        return self.provider._header()

    def get_client_claims(self, client: Client) -> dict[str, Any]:
        return self.provider._base_claims(client.client_id)

    def get_authorization_code_claims(self, authorization_code: AuthorizationCode) -> dict[str, Any]:
        claims: dict[str, Any] = {"auth_time": authorization_code.auth_time}
        nonce = FOREIGN_NONCE if self.provider.wrong_nonce else authorization_code.nonce
        if nonce:
            claims["nonce"] = nonce
        return claims

    def generate_user_info(self, user: SignedIn, scope: str) -> UserInfo:
        return UserInfo(select_claims(user, scope, "id_token"))


class _UserInfo(UserInfoEndpoint):
    def generate_user_info(self, user: SignedIn, scope: str) -> UserInfo:
        return UserInfo(select_claims(user, scope, "userinfo"))


class _TokenValidator(BearerTokenValidator):
    def __init__(self, provider: OpenIdProvider) -> None:
        super().__init__()
        self.provider = provider

    def authenticate_token(self, token_string: str) -> AccessToken | None:
        return self.provider._access_token(token_string)
