"""Creating, listing and revoking API keys (from the CLI and the admin API)."""

from registry import clock, db
from registry.auth import WriteContext, hash_secret, new_secret
from registry.changes.service import record_change
from registry.enums import ChangeAction, Role
from registry.errors import conflict, not_found
from registry.keys.schemas import KeyCreated, KeyRead
from registry.tables import ApiKey

_PUBLIC = (ApiKey.name, ApiKey.role, ApiKey.prefix, ApiKey.created_at, ApiKey.created_by, ApiKey.revoked_at)


async def create_key(ctx: WriteContext, name: str, role: Role) -> KeyCreated:
    secret = new_secret()
    async with db.write_transaction():
        if await ApiKey.exists().where(ApiKey.name == name):
            raise conflict(f"A key named {name!r} already exists; revoke it or pick another name.")
        await ApiKey.insert(
            ApiKey(
                name=name,
                role=role.value,
                secret_hash=hash_secret(secret),
                prefix=secret[:10],
                created_by=ctx.actor,
            )
        )
        row = await ApiKey.select(*_PUBLIC).where(ApiKey.name == name).first()
        await record_change(ctx, "api_key", name, ChangeAction.create, None, row)
    return KeyCreated(**row, secret=secret)


async def list_keys() -> list[KeyRead]:
    rows = await ApiKey.select(*_PUBLIC).order_by(ApiKey.name)
    return [KeyRead(**row) for row in rows]


async def revoke_key(ctx: WriteContext, name: str) -> KeyRead:
    async with db.write_transaction():
        before = await ApiKey.select(*_PUBLIC).where(ApiKey.name == name).first()
        if before is None:
            raise not_found("key", repr(name))
        if before["revoked_at"] is not None:
            raise conflict(f"Key {name!r} was already revoked at {before['revoked_at']:%Y-%m-%d %H:%M} UTC.")
        await ApiKey.update({ApiKey.revoked_at: clock.now()}).where(ApiKey.name == name)
        after = await ApiKey.select(*_PUBLIC).where(ApiKey.name == name).first()
        await record_change(ctx, "api_key", name, ChangeAction.revoke, before, after)
    return KeyRead(**after)
