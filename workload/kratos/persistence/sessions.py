"""The session pool: whoami's lookup is one query (session, identity, addresses and devices in one row)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from kratos.identity.model import Identity, RecoveryAddress, VerifiableAddress, utcnow
from kratos.persistence.database import Database
from kratos.persistence.identities import IDENTITY_COLUMNS, identity_from_row
from kratos.persistence.jsonagg import json_array, parse_time, parse_uuid, rows
from kratos.persistence.raw import json_value
from kratos.persistence.tables import (
    identities,
    identity_recovery_addresses,
    identity_verifiable_addresses,
    session_devices,
    sessions,
)
from kratos.session.model import AuthenticationMethod, Device, Session
from kratos.session.pool import SessionQuery, WhoamiRecord

_VERIFIABLE = identity_verifiable_addresses.c
_RECOVERY = identity_recovery_addresses.c
_DEVICES = session_devices.c
_STEP_UP_COLUMNS = ("authentication_methods", "aal", "authenticated_at", "expires_at", "updated_at")


class SessionRepository:
    """The :class:`~kratos.session.pool.SessionPool` on SQL databases."""

    def __init__(self, db: Database) -> None:
        self.db = db
        dialect = db.engine.dialect.name
        self._devices = json_array(
            dialect,
            {
                "id": _DEVICES.id,
                "ip": _DEVICES.ip_address,
                "ua": _DEVICES.user_agent,
                "loc": _DEVICES.location,
            },
            _DEVICES.session_id == sessions.c.id,
        ).label("devices")
        verifiable = json_array(
            dialect,
            {
                "id": _VERIFIABLE.id,
                "value": _VERIFIABLE.value,
                "via": _VERIFIABLE.via,
                "verified": _VERIFIABLE.verified,
                "status": _VERIFIABLE.status,
                "verified_at": _VERIFIABLE.verified_at,
                "created_at": _VERIFIABLE.created_at,
                "updated_at": _VERIFIABLE.updated_at,
            },
            _VERIFIABLE.identity_id == identities.c.id,
        ).label("verifiable")
        recovery = json_array(
            dialect,
            {
                "id": _RECOVERY.id,
                "value": _RECOVERY.value,
                "via": _RECOVERY.via,
                "created_at": _RECOVERY.created_at,
                "updated_at": _RECOVERY.updated_at,
            },
            _RECOVERY.identity_id == identities.c.id,
        ).label("recovery")
        identity_columns = [identities.c[name].label(f"i_{name}") for name in IDENTITY_COLUMNS]
        self._with_identity = sa.select(
            sessions, self._devices, *identity_columns, verifiable, recovery
        ).join_from(sessions, identities, identities.c.id == sessions.c.identity_id)
        # A new session and its device in one statement: the session is inserted by a data-modifying CTE.
        session_row = sa.insert(sessions).values({c.name: sa.bindparam(f"s_{c.name}") for c in sessions.c})
        create_with_device = (
            sa.insert(session_devices)
            .values({c.name: sa.bindparam(f"d_{c.name}") for c in session_devices.c})
            .add_cte(session_row.cte("new_session"))
        )
        # A step-up and the device it came from in one statement, the same way.
        step_up = (
            sa.update(sessions)
            .where(sessions.c.id == sa.bindparam("s_id"))
            .values({name: sa.bindparam(f"s_{name}") for name in _STEP_UP_COLUMNS})
        )
        step_up_with_device = (
            sa.insert(session_devices)
            .values({c.name: sa.bindparam(f"d_{c.name}") for c in session_devices.c})
            .add_cte(step_up.cte("stepped_up"))
        )
        # PostgreSQL runs each as one statement, without BEGIN/COMMIT: both changes or neither.
        native = db.url.dialect == "postgres"
        self._create_with_device = db.prepare(create_with_device) if native else None
        self._step_up_with_device = db.prepare(step_up_with_device) if native else None
        # Built once: SQLAlchemy keys its compiled-statement cache on the statement, at a cost per new one.
        self._by_token = self._with_identity.where(sessions.c.token_hash == sa.bindparam("token_hash"))
        self._whoami = db.prepare(self._by_token)

    async def create(self, session: Session, token_hash: str, logout_token_hash: str) -> None:
        """Insert a session with its devices; with one device on PostgreSQL, in one round trip."""
        now = utcnow()
        row = {
            "id": session.id,
            "identity_id": session.identity_id,
            "token_hash": token_hash,
            "logout_token_hash": logout_token_hash,
            "active": session.active,
            "aal": session.aal,
            "authentication_methods": _methods_json(session.authentication_methods),
            "authenticated_at": session.authenticated_at,
            "issued_at": session.issued_at,
            "expires_at": session.expires_at,
            "created_at": now,
            "updated_at": now,
        }
        devices = [_device_row(session, device, now) for device in session.devices]
        if len(devices) == 1 and self._create_with_device is not None:
            params = {f"s_{key}": value for key, value in row.items()}
            params.update((f"d_{key}", value) for key, value in devices[0].items())
            await self._create_with_device.execute(**params)
            return
        async with self.db.transaction() as conn:
            await conn.execute(sa.insert(sessions).values(row))
            if devices:
                await conn.execute(sa.insert(session_devices), devices)

    async def by_token(self, token_hash: str) -> Session | None:
        """The session, its identity with addresses and its devices, in one round trip."""
        async with self.db.read() as conn:
            row = (await conn.execute(self._by_token, {"token_hash": token_hash})).first()
        return _session(row, identity=_identity(row)) if row else None

    async def whoami(self, token_hash: str) -> WhoamiRecord | None:
        """The session's wire form built straight from its row, in one round trip (the hot path)."""
        row = await self._whoami.first(token_hash)
        return _whoami(row, utcnow()) if row is not None else None

    async def by_logout_token(self, logout_token_hash: str) -> Session | None:
        """The session with this logout token."""
        query = sa.select(sessions, self._devices).where(sessions.c.logout_token_hash == logout_token_hash)
        async with self.db.read() as conn:
            row = (await conn.execute(query)).first()
        return _session(row) if row else None

    async def get(self, session_id: uuid.UUID, *, with_identity: bool, with_devices: bool) -> Session | None:
        """One session by id."""
        found = await self._select(
            [sessions.c.id == session_id], with_identity=with_identity, with_devices=with_devices, limit=1
        )
        return found[0] if found else None

    async def list(self, query: SessionQuery) -> tuple[list[Session], uuid.UUID | None]:
        """Sessions by id order, a page at a time."""
        where: list[sa.ColumnElement[bool]] = []
        if query.identity_id is not None:
            where.append(sessions.c.identity_id == query.identity_id)
        if query.after is not None:
            where.append(sessions.c.id > query.after)
        if query.active is True:
            where.extend([sessions.c.active.is_(True), sessions.c.expires_at > utcnow()])
        elif query.active is False:
            where.append(sa.or_(sessions.c.active.is_(False), sessions.c.expires_at <= utcnow()))
        found = await self._select(
            where,
            with_identity=query.with_identity,
            with_devices=query.with_devices,
            limit=query.page_size + 1,
        )
        if len(found) > query.page_size:
            found = found[: query.page_size]
            return found, found[-1].id
        return found, None

    async def _select(
        self,
        where: Sequence[sa.ColumnElement[bool]],
        *,
        with_identity: bool,
        with_devices: bool,
        limit: int,
    ) -> list[Session]:
        query = self._with_identity if with_identity else sa.select(sessions, self._devices)
        query = query.where(*where).order_by(sessions.c.id).limit(limit)
        async with self.db.read() as conn:
            found = (await conn.execute(query)).all()
        return [
            _session(row, identity=_identity(row) if with_identity else None, devices=with_devices)
            for row in found
        ]

    async def revoke(self, session_id: uuid.UUID, identity_id: uuid.UUID | None = None) -> bool:
        """Deactivate one session (of ``identity_id`` when given)."""
        where = [sessions.c.id == session_id]
        if identity_id is not None:
            where.append(sessions.c.identity_id == identity_id)
        async with self.db.transaction() as conn:
            result = await conn.execute(
                sa.update(sessions).where(*where).values(active=False, updated_at=utcnow())
            )
        return result.rowcount > 0

    async def revoke_all(self, identity_id: uuid.UUID, except_id: uuid.UUID | None = None) -> int:
        """Deactivate an identity's active sessions but one."""
        where = [sessions.c.identity_id == identity_id, sessions.c.active.is_(True)]
        if except_id is not None:
            where.append(sessions.c.id != except_id)
        async with self.db.transaction() as conn:
            result = await conn.execute(
                sa.update(sessions).where(*where).values(active=False, updated_at=utcnow())
            )
        return result.rowcount

    async def delete_all(self, identity_id: uuid.UUID) -> int:
        """Delete an identity's sessions."""
        async with self.db.transaction() as conn:
            result = await conn.execute(sa.delete(sessions).where(sessions.c.identity_id == identity_id))
        return result.rowcount

    async def extend(self, session_id: uuid.UUID, expires_at: datetime) -> Session | None:
        """Move a session's expiry."""
        async with self.db.transaction() as conn:
            await conn.execute(
                sa.update(sessions)
                .where(sessions.c.id == session_id)
                .values(expires_at=expires_at, updated_at=utcnow())
            )
        return await self.get(session_id, with_identity=False, with_devices=False)

    async def add_method(self, session: Session, device: Device | None = None) -> None:
        """Store the session's methods, AAL, authentication time and expiry, and the device it came from.

        With a device on PostgreSQL, in one round trip.
        """
        now = utcnow()
        values = {
            "authentication_methods": _methods_json(session.authentication_methods),
            "aal": session.aal,
            "authenticated_at": session.authenticated_at,
            "expires_at": session.expires_at,
            "updated_at": now,
        }
        if device is not None and self._step_up_with_device is not None:
            params = {f"s_{key}": value for key, value in values.items()}
            params["s_id"] = session.id
            params.update((f"d_{key}", value) for key, value in _device_row(session, device, now).items())
            await self._step_up_with_device.execute(**params)
            return
        async with self.db.transaction() as conn:
            await conn.execute(sa.update(sessions).where(sessions.c.id == session.id).values(values))
            if device is not None:
                await conn.execute(sa.insert(session_devices).values(_device_row(session, device, now)))


def _device_row(session: Session, device: Device, now: datetime) -> dict[str, Any]:
    return {
        "id": device.id,
        "session_id": session.id,
        "ip_address": device.ip_address,
        "user_agent": device.user_agent,
        "location": device.location,
        "created_at": now,
        "updated_at": now,
    }


def _methods_json(methods: Sequence[AuthenticationMethod]) -> list[dict[str, Any]]:
    stored = []
    for m in methods:
        stored.append({"method": m.method, "aal": m.aal, "completed_at": m.completed_at.isoformat()})
        if m.provider:
            stored[-1]["provider"] = m.provider
    return stored


def _method_json(stored: dict[str, Any]) -> dict[str, Any]:
    """A stored authentication method in whoami's wire form."""
    completed_at = parse_time(stored["completed_at"])
    body = {"method": stored["method"], "aal": stored["aal"], "completed_at": completed_at}
    if stored.get("provider"):
        body["provider"] = stored["provider"]
    return body


def _session(row: Any, identity: Identity | None = None, devices: bool = True) -> Session:
    return Session(
        id=row.id,
        identity_id=row.identity_id,
        active=bool(row.active),
        aal=row.aal,
        authentication_methods=[
            AuthenticationMethod(m["method"], m["aal"], parse_time(m["completed_at"]), m.get("provider", ""))
            for m in row.authentication_methods
        ],
        authenticated_at=row.authenticated_at,
        issued_at=row.issued_at,
        expires_at=row.expires_at,
        devices=[Device(d["ip"], d["ua"], d["loc"] or "", id=parse_uuid(d["id"])) for d in rows(row.devices)]
        if devices
        else [],
        identity=identity,
    )


def _identity(row: Any) -> Identity:
    identity = identity_from_row(row, "i_")
    identity.verifiable_addresses = sorted(
        (
            VerifiableAddress(
                value=a["value"],
                via=a["via"],
                verified=bool(a["verified"]),
                status=a["status"],
                verified_at=parse_time(a["verified_at"]) if a["verified_at"] else None,
                id=parse_uuid(a["id"]),
                created_at=parse_time(a["created_at"]),
                updated_at=parse_time(a["updated_at"]),
            )
            for a in rows(row.verifiable)
        ),
        key=lambda address: (address.created_at, address.value),
    )
    identity.recovery_addresses = sorted(
        (
            RecoveryAddress(
                value=a["value"],
                via=a["via"],
                id=parse_uuid(a["id"]),
                created_at=parse_time(a["created_at"]),
                updated_at=parse_time(a["updated_at"]),
            )
            for a in rows(row.recovery)
        ),
        key=lambda address: (address.created_at, address.value),
    )
    return identity


_from_text = datetime.fromisoformat


def _whoami(row: Mapping[str, Any], now: datetime) -> WhoamiRecord:
    """The public wire form of a session with its identity (no credentials) and devices, from one row.

    The same JSON as ``Session.to_json`` with ``Identity.to_json(admin=False)``, without building either
    (``tests/test_session_whoami.py`` holds the two to the same answer); ``schema_url`` is left to the
    caller. Times are UTC, naive or aware as the driver hands them: serialise with ``OPT_NAIVE_UTC``.
    """
    state = row["i_state"]
    expires_at = row["expires_at"]
    active = bool(row["active"]) and state == "active"
    active = active and expires_at > (now if expires_at.tzinfo else now.replace(tzinfo=None))
    verifiable = rows(row["verifiable"])
    recovery = rows(row["recovery"])
    if len(verifiable) > 1:
        verifiable.sort(key=_address_order)
    if len(recovery) > 1:
        recovery.sort(key=_address_order)
    identity: dict[str, Any] = {
        "id": row["i_id"],
        "schema_id": row["i_schema_id"],
        "schema_url": None,
        "state": state,
        "state_changed_at": row["i_state_changed_at"],
        "traits": json_value(row["i_traits"]),
        "verifiable_addresses": [_verifiable(address) for address in verifiable],
        "recovery_addresses": [
            {
                "value": a["value"],
                "via": a["via"],
                "id": _uuid_text(a["id"]),
                "created_at": _from_text(a["created_at"]),
                "updated_at": _from_text(a["updated_at"]),
            }
            for a in recovery
        ],
        "metadata_public": json_value(row["i_metadata_public"]),
        "created_at": row["i_created_at"],
        "updated_at": row["i_updated_at"],
        "organization_id": row["i_organization_id"],
    }
    if row["i_external_id"] is not None:
        identity["external_id"] = row["i_external_id"]
    body = {
        "id": row["id"],
        "active": active,
        "expires_at": expires_at,
        "authenticated_at": row["authenticated_at"],
        "authenticator_assurance_level": row["aal"],
        "authentication_methods": [_method_json(m) for m in json_value(row["authentication_methods"])],
        "issued_at": row["issued_at"],
        "identity": identity,
        "devices": [
            {
                "id": _uuid_text(d["id"]),
                "ip_address": d["ip"],
                "user_agent": d["ua"],
                "location": d["loc"] or "",
            }
            for d in rows(row["devices"])
        ],
    }
    return WhoamiRecord(body, row["i_available_aal"])


def _uuid_text(value: str) -> str:
    """A UUID in JSON as its canonical text (SQLite and MySQL store it without dashes)."""
    return value if len(value) == 36 else str(parse_uuid(value))


def _address_order(address: dict[str, Any]) -> tuple[datetime, str]:
    return parse_time(address["created_at"]), address["value"]


def _verifiable(a: dict[str, Any]) -> dict[str, Any]:
    body = {
        "id": _uuid_text(a["id"]),
        "value": a["value"],
        "verified": bool(a["verified"]),
        "via": a["via"],
        "status": a["status"],
        "created_at": _from_text(a["created_at"]),
        "updated_at": _from_text(a["updated_at"]),
    }
    if a["verified_at"]:
        body["verified_at"] = _from_text(a["verified_at"])
    return body
