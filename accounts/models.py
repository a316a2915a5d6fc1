"""Staff accounts (bound to stores, with a role), partner API keys with scopes, kiosk devices."""

from __future__ import annotations

from sqlalchemy import CheckConstraint, Column, ForeignKey, String, Table
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from core import clock
from core.actor import Actor
from core.db import UTCDateTime, db
from core.errors import ValidationError
from inventory import Location

# set by the composition root from its configuration (tests use a cheaper hash)
settings = {"password_hash_method": "scrypt"}

ROLES = ("associate", "manager", "admin")
SCOPES = ("inventory:read", "inventory:write", "reservations:write", "events:write", "appointments:write", "webhooks:manage")
ROLE_SCOPES = {
    "associate": {"inventory:read", "reservations:write", "events:write"},
    "manager": {"inventory:read", "inventory:write", "reservations:write", "events:write"},
    "admin": set(SCOPES),
}

staff_store = Table(
    "staff_store",
    db.metadata,
    Column("staff_id", ForeignKey("staff.id", ondelete="CASCADE"), primary_key=True),
    Column("location_id", ForeignKey("location.id", ondelete="CASCADE"), primary_key=True),
)


class Staff(db.Model):
    __tablename__ = "staff"
    __table_args__ = (CheckConstraint("role in ('associate', 'manager', 'admin')", name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(255), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(255))
    # a manager's approval PIN at the till (4-8 digits), hashed like the password; None: approves by signing in
    pin_hash: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=clock.now)

    stores: Mapped[list[Location]] = relationship(secondary=staff_store, order_by=Location.code, lazy="selectin")

    # what Flask-Login asks of a user object (the web layer signs staff in; this package knows no Flask)
    is_authenticated = True
    is_anonymous = False

    @property
    def is_active(self) -> bool:
        return self.active

    def get_id(self) -> str:
        return str(self.id)

    @property
    def actor(self) -> Actor:
        return Actor("staff", self.id, self.name)

    @property
    def scopes(self) -> set[str]:
        return ROLE_SCOPES[self.role]

    def can_see_store(self, location: Location) -> bool:
        return self.role == "admin" or any(s.id == location.id for s in self.stores)

    def set_password(self, password: str) -> None:
        if len(password) < 8:
            raise ValidationError("a password needs at least 8 characters", field="password")
        self.password_hash = generate_password_hash(password, method=settings["password_hash_method"])

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)


class StaffSession(db.Model):
    """One signed-in staff device: a browser session (its secret in the signed cookie) or a staff token
    for a native client (``sst_…``, sent as ``Authorization: Bearer``).  Only the secret's hash is kept.
    Valid while not ended, not past ``expires_at``, used within the idle limit, and the staff member active."""

    __tablename__ = "staff_session"
    __table_args__ = (CheckConstraint("kind in ('browser', 'token')", name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    device: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=clock.now)
    last_seen_at: Mapped[object] = mapped_column(UTCDateTime, default=clock.now)
    expires_at: Mapped[object | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[object | None] = mapped_column(UTCDateTime)

    staff: Mapped[Staff] = relationship(lazy="joined")


class ApiKey(db.Model):
    __tablename__ = "api_key"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    prefix: Mapped[str] = mapped_column(String(20))  # shown in lists so people can tell keys apart
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list] = mapped_column(db.JSON)
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=clock.now)
    revoked_at: Mapped[object | None] = mapped_column(UTCDateTime)

    @property
    def actor(self) -> Actor:
        return Actor("api_key", self.id, self.name)


class KioskDevice(db.Model):
    __tablename__ = "kiosk_device"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    location_id: Mapped[int] = mapped_column(ForeignKey("location.id"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # the current activation link's token
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=clock.now)
    revoked_at: Mapped[object | None] = mapped_column(UTCDateTime)
    token_used_at: Mapped[object | None] = mapped_column(UTCDateTime)  # activation links work once

    location: Mapped[Location] = relationship(lazy="joined")

    @property
    def actor(self) -> Actor:
        return Actor("kiosk", self.id, self.name)
