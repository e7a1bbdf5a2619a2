"""HTTP routes for API keys (admins only)."""

from litestar import Controller, get, post

from registry.auth import API_KEY, WriteContext, needs
from registry.enums import Role
from registry.errors import problem_responses
from registry.keys import service
from registry.keys.schemas import KeyCreate, KeyCreated, KeyName, KeyRead


class KeyController(Controller):
    """API keys: who may call the registry, and with which role."""

    path = "/keys"
    tags = ["keys"]
    opt = needs(Role.admin)
    security = API_KEY

    @get("/", operation_id="list_keys", responses=problem_responses())
    async def list_keys(self) -> list[KeyRead]:
        return await service.list_keys()

    @post("/", operation_id="create_key", responses=problem_responses(409, 413))
    async def create_key(self, data: KeyCreate, ctx: WriteContext) -> KeyCreated:
        return await service.create_key(ctx, data.name, data.role)

    @post(
        "/{name:str}/revoke",
        operation_id="revoke_key",
        status_code=200,
        responses=problem_responses(404, 409),
    )
    async def revoke_key(self, name: KeyName, ctx: WriteContext) -> KeyRead:
        return await service.revoke_key(ctx, name)
