"""WebAuthn building blocks shared by the ``webauthn`` and ``passkey`` methods.

:mod:`.ceremony` wraps py_webauthn as a relying party (options in upstream's JSON, verification of what a
browser posts), :mod:`.script` serves ``/.well-known/ory/webauthn.js``.
"""
