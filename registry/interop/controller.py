"""HTTP routes for Fides interoperability: the registry as fideslang systems, out and in."""

from dataclasses import dataclass
from datetime import date
from typing import Annotated

from litestar import Controller, Request, Response, get, post
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIType, Operation, RequestBody, Schema
from litestar.params import Parameter

from registry import clock
from registry.auth import API_KEY, WriteContext, needs
from registry.enums import Role
from registry.errors import problem_responses, unsupported
from registry.http import read_bounded
from registry.imports.report import refused, report_of
from registry.imports.schemas import ImportReport
from registry.interop import fides, service

YAML = "application/yaml"
AsOf = Annotated[date | None, Parameter(description="Only disclosures valid on this day; default: all")]
_MANIFEST = Schema(
    type=OpenAPIType.OBJECT,
    required=["system"],
    properties={"system": Schema(type=OpenAPIType.ARRAY, items=Schema(type=OpenAPIType.OBJECT))},
    description="A fideslang manifest: `system` is a list of fideslang System resources.",
)


@dataclass
class _YamlOut(Operation):
    """The export's 200 documented as a manifest (Litestar would say: a string)."""

    def __post_init__(self) -> None:
        self.responses["200"].content = {YAML: OpenAPIMediaType(schema=_MANIFEST)}


@dataclass
class _YamlIn(Operation):
    """The import's raw YAML body documented (the handler reads the stream itself, bounded)."""

    def __post_init__(self) -> None:
        self.request_body = RequestBody(
            content={media: OpenAPIMediaType(schema=_MANIFEST) for media in fides.MEDIA_TYPES},
            required=True,
        )


class FidesController(Controller):
    """Vendors and their disclosures as Fides (fideslang) system resources, for privacy platforms."""

    tags = ["fides"]
    opt = needs(Role.viewer)
    security = API_KEY

    @get(
        "/exports/fides.yaml",
        operation_id="export_fides",
        media_type=YAML,
        responses=problem_responses(),
        operation_class=_YamlOut,
        description="A fideslang manifest: one System per vendor, one privacy declaration per disclosure; "
        "the registry's other facts in each System's `meta.registry`. See docs/fides.md.",
    )
    async def export_fides(self, as_of: AsOf = None) -> Response[str]:
        return Response(
            await service.export_manifest(as_of),
            media_type=YAML,
            headers={"Content-Disposition": f'attachment; filename="fides-{clock.today()}.yaml"'},
        )

    @post(
        "/imports/fides",
        operation_id="import_fides",
        opt=needs(Role.editor),
        request_max_body_size=None,
        status_code=200,
        responses=problem_responses(413, 415, 422),
        operation_class=_YamlIn,
        description="The body is a fideslang manifest (YAML). Its systems are imported as vendors and "
        "disclosures with the rules of the spreadsheet import: all or nothing, matched by natural key; "
        "errors name the path in the YAML. With `dry_run=true` nothing is written.",
    )
    async def import_fides(self, request: Request, ctx: WriteContext, dry_run: bool = False) -> ImportReport:
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media not in fides.MEDIA_TYPES:
            raise unsupported(f"{media or 'none'}: send {YAML}")
        content = await read_bounded(request, request.app.state["settings"].max_upload_bytes)
        result = await service.import_manifest(ctx, content, dry_run)
        if not result.ok:
            raise refused(result)
        return report_of(result)
