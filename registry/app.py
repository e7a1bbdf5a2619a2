"""``create_app(settings)``: the whole HTTP application, its routes listed literally."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import jinja2
from litestar import Litestar, Request, get
from litestar.contrib.jinja import JinjaTemplateEngine
from litestar.di import Provide
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig, ResponseSpec
from litestar.openapi.plugins import ScalarRenderPlugin, SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig
from piccolo.engine.postgres import PostgresEngine

from registry import __version__, db
from registry.attestations.controller import AttestationController
from registry.attestations.pool import PdfPool
from registry.auth import (
    PUBLIC_PATHS,
    ApiKeyAuthentication,
    check_roles,
    provide_write_context,
    request_id_middleware,
)
from registry.background import BackgroundTask
from registry.changes.checkpoint_job import CheckpointJob
from registry.changes.controller import ChangeController
from registry.contracts.controller import ContractController
from registry.deletions.controller import DeletionController
from registry.disclosures.controller import DisclosureController
from registry.edge import RegistryRequest
from registry.errors import EXCEPTION_HANDLERS, PROBLEM_JSON, Problem, fault_error, log_fault
from registry.exports.controller import ExportController
from registry.faults import classify
from registry.head import HeadReader
from registry.idempotency import idempotency_middleware
from registry.imports.controller import ImportController
from registry.interop.controller import FidesController
from registry.journal.controller import JournalController
from registry.keys.controller import KeyController
from registry.lookup.cache import AnswerCache
from registry.lookup.controller import LookupController
from registry.lookup.fast import fast_answers_middleware
from registry.lookup.keeper import IndexKeeper
from registry.mail.controller import MailController
from registry.mail.worker import MailWorker
from registry.notices.controller import ObjectionController, SubscriptionController
from registry.notices.pages import SubscriberPagesController
from registry.portal import tokens as portal_tokens
from registry.portal.controller import VendorRequestController
from registry.portal.pages import PortalController
from registry.portal.scheduler import SchedulerJob
from registry.public.controller import PublicCache, PublicController
from registry.ratelimit import RateLimiter
from registry.schemas import Schema
from registry.settings import Settings, get_settings
from registry.sqliteengine import KeptSQLiteEngine
from registry.subprocessors.controller import EngagementController, VendorSubprocessorController
from registry.supervision.controller import SupervisionController
from registry.tables import Vendor
from registry.taxonomy.controller import TaxonomyController
from registry.transfers.controller import TransferController
from registry.ui.answers import LookupExportController
from registry.ui.controller import WebController, sign_in_redirect
from registry.ui.data import DataController
from registry.ui.deletion import DeletionPageController
from registry.ui.documents import DocumentController
from registry.ui.engagements import EngagementPagesController
from registry.ui.objections import ObjectionsPageController
from registry.ui.pages import SignInRequired
from registry.ui.records import RecordsController
from registry.ui.transfers import TransferPagesController
from registry.vendors.controller import VendorController
from registry.webhooks.controller import WebhookController
from registry.webhooks.worker import DeliveryWorker


class Health(Schema):
    """The service answers and its database is reachable."""

    status: str
    version: str
    database: str


@get(
    "/health",
    operation_id="health",
    tags=["service"],
    security=[],
    responses={
        503: ResponseSpec(
            data_container=Problem,
            description='The database is down ("database": "down"); retry after Retry-After',
            media_type=PROBLEM_JSON,
        )
    },
)
async def health(request: Request) -> Health:
    """Readiness: the service answers and a query reaches its database (503 naming it if not)."""
    try:
        await Vendor.raw("SELECT 1")
    except Exception as exc:
        fault = classify(exc)
        if fault is None:
            raise
        log_fault(request, fault)
        raise fault_error(fault, database="down") from None
    return Health(status="ok", version=__version__, database=db.current_engine().engine_type)


class Liveness(Schema):
    """The server process answers (nothing else is checked)."""

    status: str


@get("/health/live", operation_id="health_live", tags=["service"], security=[])
async def live() -> Liveness:
    """Liveness: the process answers, without touching the database. The cheapest thing the server can
    answer, so the benchmarks measure the lookup API against it."""
    return Liveness(status="ok")


UI = Path(__file__).parent / "ui"


def _ui_templates() -> jinja2.Environment:
    # autoescape for every name: select_autoescape() would miss ".j2"; user text is always text.
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(UI / "templates"), autoescape=True, undefined=jinja2.StrictUndefined
    )


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or get_settings()
    logging.getLogger("registry").setLevel(settings.log_level)
    engine = db.build_engine(settings)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        # Everything a started app holds is made afresh here, from the settings in its state: so one
        # app can stop and start again on another database (the test suite swaps them between tests).
        settings: Settings = app.state["settings"]
        logging.getLogger("registry").setLevel(settings.log_level)
        engine = db.build_engine(settings, keep_connections=True)
        db.use_engine(engine)
        if isinstance(engine, PostgresEngine):
            # One connection at start, more as needed: asyncpg's default opened ten at every start (a
            # tenth of a test's time) and refused a maximum below ten.
            await engine.start_connection_pool(min_size=1, max_size=settings.postgres_pool_max_size)
        app.state["pdf_pool"] = PdfPool(settings)
        app.state["verify_limiter"] = RateLimiter(settings.verify_rate_per_minute)
        app.state["lookup_answers"] = AnswerCache(settings.lookup_cache_bytes)
        app.state["lookup_index"] = IndexKeeper() if settings.lookup_index else None
        app.state["login_limiter"] = RateLimiter(settings.login_attempts_per_minute)
        app.state["change_head"] = HeadReader()
        app.state["public_list"] = PublicCache()
        app.state["public_limiter"] = RateLimiter(settings.verify_rate_per_minute)
        app.state["portal_limiter"] = RateLimiter(settings.portal_requests_per_minute)
        portal_tokens.configure(settings)  # the link minter the mail sender calls needs these settings
        # Each server process delivers webhooks and sends mail (leases keep several from sending the
        # same one), looks for a due checkpoint (a lock makes one per interval) and runs the portal's
        # scheduled jobs (leased in job_lease).
        jobs = [
            (DeliveryWorker(settings).run, "webhook-worker", settings.webhook_worker),
            (MailWorker(settings).run, "mail-worker", settings.mail_worker),
            (CheckpointJob(settings).run, "checkpoints", settings.checkpoint_interval_seconds),
            (SchedulerJob(settings).run, "portal-scheduler", settings.scheduler_interval_seconds),
        ]
        tasks = [BackgroundTask(job, name) for job, name, enabled in jobs if enabled]
        try:
            yield
        finally:
            for task in reversed(tasks):
                await task.stop()
            app.state["pdf_pool"].close()
            await app.state["change_head"].close()
            if app.state["lookup_index"] is not None:
                app.state["lookup_index"].close()
            if isinstance(engine, PostgresEngine):
                await engine.close_connection_pool()
            elif isinstance(engine, KeptSQLiteEngine):
                await engine.close()

    db.use_engine(engine)
    app = Litestar(
        route_handlers=[
            health,
            live,
            VendorController,
            ContractController,
            TaxonomyController,
            DisclosureController,
            TransferController,
            VendorSubprocessorController,
            EngagementController,
            LookupController,
            ExportController,
            ImportController,
            FidesController,
            DeletionController,
            VendorRequestController,
            PortalController,
            AttestationController,
            PublicController,
            SubscriptionController,
            SubscriberPagesController,
            ObjectionController,
            ObjectionsPageController,
            ChangeController,
            JournalController,
            SupervisionController,
            KeyController,
            WebhookController,
            MailController,
            WebController,
            EngagementPagesController,
            RecordsController,
            TransferPagesController,
            DataController,
            DocumentController,
            LookupExportController,
            DeletionPageController,
            create_static_files_router(
                path="/ui/static",
                directories=[UI / "static"],
                include_in_schema=False,
                send_as_attachment=False,
            ),
        ],
        template_config=TemplateConfig(engine=JinjaTemplateEngine.from_environment(_ui_templates())),
        lifespan=[lifespan],
        dependencies={"ctx": Provide(provide_write_context, sync_to_thread=False)},
        middleware=[
            request_id_middleware,
            fast_answers_middleware,  # before authentication: it answers only keys already verified
            DefineMiddleware(ApiKeyAuthentication, exclude=list(PUBLIC_PATHS)),
            idempotency_middleware,
        ],
        exception_handlers={**EXCEPTION_HANDLERS, SignInRequired: sign_in_redirect},
        request_class=RegistryRequest,
        request_max_body_size=settings.max_request_bytes,
        openapi_config=OpenAPIConfig(
            title="Processor Registry",
            version=__version__,
            description="Vendors, confidentiality contracts, disclosures, the lookup API and the tamper-evident change log.",
            path="/schema",
            render_plugins=[ScalarRenderPlugin(path="/"), SwaggerRenderPlugin(path="/swagger")],
            components=Components(
                security_schemes={
                    "apiKey": SecurityScheme(
                        type="http", scheme="bearer", description="Authorization: Bearer <key>"
                    )
                }
            ),
        ),
        state={"settings": settings},
        debug=False,
    )
    check_roles(app)
    return app
