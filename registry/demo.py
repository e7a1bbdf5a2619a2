"""Realistic demo data: vendors of every kind, contracts in every state, dated around today."""

from datetime import timedelta

from registry import clock
from registry.auth import WriteContext
from registry.contracts import service as contracts
from registry.contracts.schemas import ContractCreate, ContractTermination
from registry.disclosures import service as disclosures
from registry.disclosures.schemas import DisclosureCreate
from registry.enums import JournalKind, JournalObject, Role
from registry.journal import service as journal
from registry.journal.schemas import JournalCreate
from registry.keys.service import create_key
from registry.subprocessors import service as engagements
from registry.subprocessors.schemas import EngagementCreate
from registry.tables import Vendor
from registry.transfers import service as transfers
from registry.transfers.schemas import TransferWrite
from registry.vendors import service as vendors
from registry.vendors.schemas import VendorCreate

_DPA = dict(
    confidentiality_equivalent=True,
    backups_covered=True,
    audit_right=True,
    subprocessing_requires_consent=True,
    deletion_deadline_days=30,
    confidentiality_text="Obligations of confidentiality no less protective than the "
    "controller's own (policy §6.1).",
    security_measures="Encryption at rest and in transit; access on a need-to-know basis.",
    documented_instructions=True,
    personnel_confidentiality=True,
    assists_data_subject_rights=True,
    assists_compliance=True,
    purposes="Providing the contracted service to our users.",
    processing_period="The term of the agreement, then deletion within the deadline.",
    processing_method="Storage and processing on the vendor's systems under our instructions.",
)

VENDORS = [
    dict(
        name="Northwind Cloud Hosting",
        legal_name="Northwind Cloud Hosting Ltd",
        kind="service_provider",
        country="IE",
        website="https://northwind.example",
        tags=["hosting", "critical"],
        public=True,
        contact={"name": "Account desk", "email": "accounts@northwind.example"},
        privacy_contact={"name": "DPO", "email": "dpo@northwind.example"},
        registration_ids=[{"scheme": "company_number", "value": "IE 651234"}],
    ),
    dict(
        name="Northwind Backup Services",
        kind="service_provider",
        country="NL",
        tags=["hosting", "sub-processor"],
        notes="Sub-processor engaged by Northwind Cloud Hosting for off-site backups (see its engagement).",
    ),
    dict(
        name="Atlas Payments GmbH",
        kind="service_provider",
        country="DE",
        tags=["payments"],
        public=True,
        privacy_contact={"email": "privacy@atlas-payments.example"},
    ),
    dict(
        name="Brightdesk Support Ltd",
        kind="agent",
        country="GB",
        tags=["support"],
        public=True,
        privacy_contact={"email": "privacy@brightdesk.example"},
    ),
    dict(
        name="ProcessOn Group Holdings",
        legal_name="ProcessOn Group Holdings Co., Ltd.",
        kind="associated_business",
        country="CN",
        tags=["group"],
        privacy_contact={
            "name": "Personal information protection officer",
            "email": "pipo@processon.example",
        },
    ),
    dict(name="Quill Translation Co.", kind="contractor", country="FR", tags=["translation"]),
    dict(name="Meridian Analytics", kind="service_provider", country="US", tags=["analytics"]),
    dict(name="Lumen Legal Agents LLP", kind="agent", country="SG"),
    dict(
        name="Harbor Mailer Inc.",
        kind="service_provider",
        country="US",
        tags=["email"],
        public=True,
        contact={"email": "support@harbor-mailer.example"},
    ),
    # A trial that ended before any data went to it: former at once (nothing to delete).
    dict(name="Kestrel Survey Tools", kind="contractor", country="NO", tags=["trial"]),
]


NOTES = [
    (
        "Northwind Cloud Hosting",
        JournalKind.review,
        "Annual review: ISO 27001 certificate current, sub-processor list received.",
    ),
    ("Atlas Payments GmbH", JournalKind.review, "Annual review: PCI DSS attestation of compliance on file."),
    (
        "Meridian Analytics",
        JournalKind.finding,
        "Sends data to a US sub-processor not on the list it gave us; asked for an updated list.",
    ),
    ("Harbor Mailer Inc.", JournalKind.warning, "Contract renewal under negotiation."),
]


def _contracts(today):
    d = lambda days: today + timedelta(days=days)  # noqa: E731
    return [
        (
            "Northwind Cloud Hosting",
            dict(
                kind="dpa",
                title="Data processing agreement",
                reference="DPA-2024-001",
                signed_on=d(-700),
                effective_from=d(-690),
                expires_on=d(400),
                **_DPA,
            ),
        ),
        (
            "Northwind Cloud Hosting",
            dict(
                kind="msa",
                title="Master services agreement",
                reference="MSA-2024-001",
                signed_on=d(-700),
                effective_from=d(-690),
            ),
        ),
        (
            "Northwind Backup Services",
            dict(
                kind="dpa",
                title="Sub-processing agreement",
                reference="DPA-2024-002",
                signed_on=d(-500),
                effective_from=d(-500),
                **_DPA,
            ),
        ),
        (
            "Atlas Payments GmbH",
            dict(
                kind="dpa",
                title="Payment processing DPA",
                reference="DPA-2023-007",
                signed_on=d(-1000),
                effective_from=d(-1000),
                expires_on=d(20),
                **_DPA,
            ),
        ),
        (
            "Brightdesk Support Ltd",
            dict(
                kind="dpa",
                title="Customer support outsourcing DPA",
                reference="DPA-2022-014",
                signed_on=d(-900),
                effective_from=d(-900),
                **_DPA,
            ),
            ("terminate", d(-10)),
        ),
        (
            "ProcessOn Group Holdings",
            dict(
                kind="nda",
                title="Intra-group confidentiality agreement",
                reference="NDA-2021-001",
                signed_on=d(-1500),
                effective_from=d(-1500),
                confidentiality_equivalent=True,
            ),
        ),
        (
            "Quill Translation Co.",
            dict(
                kind="sow",
                title="Translation of support articles",
                reference="SOW-2025-003",
                signed_on=d(-400),
                effective_from=d(-390),
                expires_on=d(-200),
                deletion_deadline_days=30,
                confidentiality_equivalent=True,
            ),
        ),
        (
            "Kestrel Survey Tools",
            dict(
                kind="sow",
                title="Survey tool trial",
                reference="SOW-2024-008",
                signed_on=d(-600),
                effective_from=d(-600),
                expires_on=d(-540),
                deletion_deadline_days=30,
                confidentiality_equivalent=True,
            ),
        ),
        (
            "Meridian Analytics",
            dict(
                kind="dpa",
                title="Product analytics DPA (in negotiation)",
                reference="DPA-DRAFT-009",
                effective_from=d(30),
                **_DPA,
            ),
        ),
        (
            "Lumen Legal Agents LLP",
            dict(
                kind="nda",
                title="Engagement letter with confidentiality clause",
                reference="NDA-2025-011",
                signed_on=d(-100),
                effective_from=d(-100),
                confidentiality_equivalent=False,
            ),
        ),
        (
            "Harbor Mailer Inc.",
            dict(
                kind="dpa",
                title="Transactional e-mail DPA",
                reference="DPA-2023-019",
                signed_on=d(-800),
                effective_from=d(-800),
                expires_on=d(-10),
                **_DPA,
            ),
        ),
    ]


# What each vendor receives, in the policy's words (see docs/taxonomy.md for the mapping).
_ACCOUNT = ["user.name", "user.contact.email"]
_VISITS = ["user.device.ip_address", "user.behavior.browsing_history"]
DISCLOSURES = [
    ("DPA-2024-001", _ACCOUNT + _VISITS + ["user.content.private"], "essential.service.operations", -690),
    ("DPA-2024-002", _ACCOUNT + ["user.content.private"], "essential.service.operations", -500),
    (
        "DPA-2023-007",
        _ACCOUNT + ["user.payment", "user.financial"],
        "essential.service.payment_processing",
        -1000,
    ),
    ("DPA-2022-014", _ACCOUNT + ["user.content.private"], "essential.service.operations.support", -900),
    ("NDA-2021-001", _ACCOUNT, "essential.service", -1500),
    ("SOW-2025-003", ["user.content.public"], "essential.service.operations.support", -390),
    ("DPA-2023-019", ["user.contact.email", "user.name"], "essential.service.notifications.email", -800),
    ("NDA-2025-011", _ACCOUNT, "essential.legal_obligation", -100),
]
# What differs from a processor receiving EU users' data from the EU hosting (origin IE) under its
# contract. ProcessOn decides its own purposes for the account data it receives: another handler (PIPL
# Art. 23) in China, on the users' separate consent.
_AS = {
    "NDA-2025-011": dict(
        basis="legal_obligation", legal_reference="Court order in Singapore proceedings", origin="CN"
    ),
    "DPA-2024-002": dict(role="sub_processor"),
    "NDA-2021-001": dict(
        role="independent_controller",
        basis="consent",
        consent_reference="Separate consent (PIPL Art. 23) at sign-up, consent text v3",
        origin="CN",
    ),
}
# The transfer records: the UK under its adequacy decision, Harbor Mailer (US) under the 2021 SCCs,
# Lumen (SG) from China under the PIPL standard contract. Meridian (US) has none: the dashboard shows it.
_TRANSFERS = {
    "DPA-2022-014": lambda d: TransferWrite(mechanism="adequacy"),
    "DPA-2023-019": lambda d: TransferWrite(
        mechanism="scc_2021",
        scc_module=2,
        tia_date=d(-820),
        tia_reference="TIA-2023-019 (US surveillance law, EO 14086)",
        tia_review_by=d(270),
    ),
    "NDA-2025-011": lambda d: TransferWrite(
        mechanism="standard_contract",
        filing_date=d(-90),
        filing_number="Shanghai CAC filing 2025-0117",
        separate_consent_reference="Separate consent (PIPL Art. 39) for legal proceedings abroad, v1",
        tia_date=d(-110),
        tia_reference="PIPIA-2025-011",
        tia_review_by=d(620),
    ),
}


async def _engage_backups(
    ctx: WriteContext, contract_ids: dict[str, int], vendor_ids: dict[str, int], today
) -> int:
    """Northwind Cloud Hosting engaged Northwind Backup Services under our general authorisation: it
    told us 30 days ahead, and the sub-processing agreement passes down the same clauses."""
    engagement = await engagements.create_engagement(
        ctx,
        vendor_ids["Northwind Cloud Hosting"],
        EngagementCreate(
            subprocessor_id=vendor_ids["Northwind Backup Services"],
            authorisation="general",
            notified_on=today + timedelta(days=-530),
            objection_deadline=today + timedelta(days=-516),
            valid_from=today + timedelta(days=-500),
            flow_down_contract_id=contract_ids["DPA-2024-002"],
            processor_contract_id=contract_ids["DPA-2024-001"],
        ),
    )
    return engagement.id


async def _disclose(
    ctx: WriteContext, contract_ids: dict[str, int], vendor_ids: dict[str, int], today
) -> None:
    for reference, categories, purpose, start in DISCLOSURES:
        contract = await contracts.get_contract(contract_ids[reference])
        extra = dict(_AS.get(reference, {}))
        if reference == "DPA-2024-002":  # Northwind's backup sub-processor, under its flow-down contract
            extra["engagement_id"] = await _engage_backups(ctx, contract_ids, vendor_ids, today)
        disclosure = await disclosures.create_disclosure(
            ctx,
            DisclosureCreate(
                vendor_id=contract.vendor_id,
                contract_id=contract.id,
                categories=categories,
                data_subjects=["customer"],
                purpose=purpose,
                valid_from=today + timedelta(days=start),
                **{"basis": "contract", "origin": "IE", **extra},
            ),
        )
        if reference in _TRANSFERS:
            record = _TRANSFERS[reference](lambda days: today + timedelta(days=days))
            await transfers.put_transfer(ctx, disclosure.id, record, None)
    await disclosures.create_disclosure(
        ctx,
        DisclosureCreate(
            vendor_id=vendor_ids["Meridian Analytics"],
            categories=["user.device.cookie_id", "user.behavior"],
            data_subjects=["customer", "visitor"],
            purpose="analytics.reporting",
            basis="consent",
            consent_reference="Cookie banner v4, analytics opt-in",
            valid_from=today + timedelta(days=-60),
            origin="IE",
        ),
    )


async def load_demo(ctx: WriteContext) -> tuple[int, str, str]:
    """Add the demo records unless any vendor exists; always issue a fresh admin key."""
    key = await create_key(ctx, f"demo-admin-{clock.now():%Y%m%d%H%M%S%f}", Role.admin)
    if await Vendor.exists():
        return 0, key.name, key.secret
    ids: dict[str, int] = {}
    for spec in VENDORS:
        spec = dict(spec)
        parent = spec.pop("parent", None)
        vendor = await vendors.create_vendor(ctx, VendorCreate(**spec, parent_id=ids.get(parent)))
        ids[vendor.name] = vendor.id
    today, contract_ids, terminations = clock.today(), {}, []
    for vendor_name, fields, *actions in _contracts(today):
        contract = await contracts.create_contract(ctx, ContractCreate(vendor_id=ids[vendor_name], **fields))
        contract_ids[contract.reference] = contract.id
        terminations += [(contract.id, on) for _, on in actions]
    await _disclose(ctx, contract_ids, ids, today)
    for contract_id, on in terminations:
        await contracts.terminate_contract(
            ctx, contract_id, ContractTermination(terminated_on=on, reason="Service moved in-house")
        )
    for vendor_name, kind, text in NOTES:
        await journal.add_entry(
            ctx,
            JournalCreate(object_type=JournalObject.vendor, object_id=ids[vendor_name], kind=kind, text=text),
        )
    return len(ids), key.name, key.secret
