"""HTTP routes for the taxonomy: data categories, data uses (purposes) and data subjects."""

from typing import Annotated, Literal

from litestar import Controller, delete, get, patch, post
from litestar.params import Parameter

from registry.auth import API_KEY, WriteContext, needs
from registry.enums import Role, TaxonomyKind
from registry.errors import problem_responses
from registry.taxonomy import service
from registry.taxonomy.schemas import TaxonomyCreate, TaxonomyNode, TaxonomyRead, TaxonomyUpdate

KindPath = Literal["data-categories", "data-uses", "data-subjects"]
KeyPath = Annotated[
    str, Parameter(pattern=r"^[a-z0-9_.]{1,200}$", description="Dotted key, e.g. user.contact")
]
_KINDS = {
    "data-categories": TaxonomyKind.data_category,
    "data-uses": TaxonomyKind.data_use,
    "data-subjects": TaxonomyKind.data_subject,
}


class TaxonomyController(Controller):
    """The fideslang taxonomy, seeded by the migrations, with custom entries beneath it."""

    path = "/taxonomy"
    tags = ["taxonomy"]
    opt = needs(Role.lookup)
    security = API_KEY

    @get("/{kind:str}", operation_id="list_taxonomy", responses=problem_responses())
    async def list_taxonomy(self, kind: KindPath) -> list[TaxonomyRead]:
        return await service.list_entries(_KINDS[kind])

    @get("/{kind:str}/tree", operation_id="taxonomy_tree", responses=problem_responses())
    async def taxonomy_tree(self, kind: KindPath) -> list[TaxonomyNode]:
        return await service.tree(_KINDS[kind])

    @post(
        "/{kind:str}",
        operation_id="create_taxonomy_entry",
        opt=needs(Role.editor),
        responses=problem_responses(409, 413, 422),
    )
    async def create_entry(self, kind: KindPath, data: TaxonomyCreate, ctx: WriteContext) -> TaxonomyRead:
        return await service.create_entry(ctx, _KINDS[kind], data)

    @patch(
        "/{kind:str}/{key:str}",
        operation_id="update_taxonomy_entry",
        opt=needs(Role.editor),
        responses=problem_responses(404, 409, 413, 422),
    )
    async def update_entry(
        self, kind: KindPath, key: KeyPath, data: TaxonomyUpdate, ctx: WriteContext
    ) -> TaxonomyRead:
        return await service.update_entry(ctx, _KINDS[kind], key, data)

    @delete(
        "/{kind:str}/{key:str}",
        operation_id="delete_taxonomy_entry",
        opt=needs(Role.editor),
        responses=problem_responses(404, 409),
    )
    async def delete_entry(self, kind: KindPath, key: KeyPath, ctx: WriteContext) -> None:
        await service.delete_entry(ctx, _KINDS[kind], key)
