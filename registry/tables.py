"""Every table of the registry. Foreign keys RESTRICT: legal records are never cascaded away."""

from piccolo.columns import (
    JSON,
    BigInt,
    BigSerial,
    Boolean,
    Bytea,
    Date,
    ForeignKey,
    Integer,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.base import OnDelete, OnUpdate
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table


def _fk(references, *, null: bool = False, index: bool = True) -> ForeignKey:
    return ForeignKey(
        references=references,
        null=null,
        default=None,
        on_delete=OnDelete.restrict,
        on_update=OnUpdate.restrict,
        index=index,
    )


def _text(length: int | None = None, *, null: bool = True, **kwargs):
    """Nullable text that stays NULL (Piccolo would otherwise default it to '')."""
    if length is None:
        return Text(null=null, default=None if null else "", **kwargs)
    return Varchar(length=length, null=null, default=None if null else "", **kwargs)


def _date():
    """A nullable date that stays NULL (Piccolo would otherwise default it to today)."""
    return Date(null=True, default=None)


class ApiKey(Table, tablename="api_key"):
    """A credential for integrations and scripts; only the SHA-256 of its secret is kept."""

    name = Varchar(length=100, unique=True)
    role = Varchar(length=20)
    secret_hash = Varchar(length=64, unique=True)
    prefix = Varchar(length=16)
    created_at = Timestamptz(default=TimestamptzNow())
    created_by = Varchar(length=100)
    revoked_at = Timestamptz(null=True, default=None)


class Person(Table, tablename="person"):
    """Someone who signs in to the web interface; only an Argon2id hash of the password is kept."""

    name = Varchar(length=100, unique=True)
    role = Varchar(length=20)
    password_hash = Varchar(length=200)
    created_at = Timestamptz(default=TimestamptzNow())
    created_by = Varchar(length=100)
    disabled_at = Timestamptz(null=True, default=None)


class WebSession(Table, tablename="web_session"):
    """A signed-in browser: the cookie holds a random token, the database its SHA-256 (a stolen
    database does not sign anyone in) and the token the session's forms must echo (CSRF)."""

    token_hash = Varchar(length=64, unique=True)
    person = _fk(Person)
    csrf_token = Varchar(length=64)
    created_at = Timestamptz(default=TimestamptzNow())
    expires_at = Timestamptz()


class StoredFile(Table, tablename="stored_file"):
    """An uploaded file (a signed contract, evidence); immutable once written."""

    sha256 = Varchar(length=64, index=True)
    filename = Varchar(length=255)
    content_type = Varchar(length=100)
    size = Integer()
    data = Bytea()
    created_at = Timestamptz(default=TimestamptzNow())
    created_by = Varchar(length=100)


class Vendor(Table, tablename="vendor"):
    """A third party that receives (or may receive) users' personal information."""

    name = Varchar(length=200, unique=True)
    legal_name = _text(300)
    kind = Varchar(length=30, index=True)
    parent = _fk("self", null=True)
    country = Varchar(length=2, index=True)
    registered_address = _text()
    registration_ids = JSON(default=[])
    contact_name = _text(200)
    contact_email = _text(320)
    contact_phone = _text(50)
    privacy_contact_name = _text(200)
    privacy_contact_email = _text(320)
    privacy_contact_phone = _text(50)
    website = _text(2048)
    notes = _text()
    tags = JSON(default=[])
    # Listed on the public sub-processor page (GET /public/subprocessors) while it receives data.
    public = Boolean(default=False)
    version = Integer(default=1)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class Contract(Table, tablename="contract"):
    """A confidentiality contract (NDA, DPA, ...) with a vendor, its clauses as structured fields."""

    vendor = _fk(Vendor)
    kind = Varchar(length=10)
    title = Varchar(length=300)
    reference = _text(100, unique=True)
    signed_on = _date()
    effective_from = _date()
    expires_on = _date()
    terminated_on = _date()
    termination_reason = _text()
    # The last day in force: the earlier of expiry and termination. Kept by the service for queries.
    ends_on = _date()
    deletion_due_on = _date()
    governing_law = _text(200)
    confidentiality_equivalent = Boolean(default=False)
    confidentiality_text = _text()
    security_measures = _text()
    end_of_contract = Varchar(length=30, default="delete")
    deletion_deadline_days = Integer(default=30)
    backups_covered = Boolean(default=False)
    minimum_sanitization = _text(10)  # NIST SP 800-88 category: clear, purge or destroy
    evidence_required = Boolean(default=False)
    subprocessing_requires_consent = Boolean(default=False)
    audit_right = Boolean(default=False)
    purposes = _text()
    processing_period = _text()
    # The clauses GDPR Art. 28(3) and PIPL Art. 21 name that the fields above do not cover.
    documented_instructions = Boolean(default=False)
    personnel_confidentiality = Boolean(default=False)
    assists_data_subject_rights = Boolean(default=False)
    assists_compliance = Boolean(default=False)
    processing_method = _text()
    # GDPR Art. 26: the joint controllers' arrangement, and where its essence is made available.
    joint_arrangement = Boolean(default=False)
    joint_arrangement_essence = _text(2000)
    notes = _text()
    document = _fk(StoredFile, null=True)
    version = Integer(default=1)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class TaxonomyEntry(Table, tablename="taxonomy_entry"):
    """A data category, data use (purpose) or data subject; dotted keys form the hierarchy."""

    kind = Varchar(length=20)
    key = Varchar(length=200)
    name = Varchar(length=200)
    description = _text()
    parent_key = _text(200)
    is_default = Boolean(default=False)
    created_at = Timestamptz(default=TimestamptzNow())


class SubprocessorEngagement(Table, tablename="subprocessor_engagement"):
    """A processor (``engaged_by``) engaging another vendor as its sub-processor (GDPR Art. 28(2), (4))."""

    engaged_by = _fk(Vendor)
    subprocessor = _fk(Vendor)
    authorisation = Varchar(length=10)  # specific or general
    notified_on = _date()  # general authorisation: the day we were told of this sub-processor
    objection_deadline = _date()
    objected_on = _date()
    objection_reason = _text()
    objected_by = _text(120)
    valid_from = Date()
    valid_to = _date()  # last day, inclusive; NULL while in force
    ended_reason = _text()
    # The contract between processor and sub-processor (a Contract row whose vendor is the sub-processor)
    # and the processor's contract with us whose obligations it must pass down.
    flow_down_contract = _fk(Contract, null=True)
    processor_contract = _fk(Contract, null=True)
    notes = _text()
    version = Integer(default=1)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class Disclosure(Table, tablename="disclosure"):
    """Vendor V receives categories of data subjects for a purpose, on a legal basis, over a period."""

    vendor = _fk(Vendor)
    contract = _fk(Contract, null=True)
    basis = Varchar(length=20)
    role = Varchar(length=30, default="processor")  # RecipientRole
    origin = Varchar(length=2, default="CN")  # where the data leaves from; ``country`` is where it goes
    purpose = Varchar(length=200, index=True)
    consent_reference = _text(300)
    legal_reference = _text(300)
    data_subjects = JSON(default=[])
    country = Varchar(length=2)
    valid_from = Date()
    # Last day of the disclosure, inclusive; NULL while open-ended.
    valid_to = _date()
    ended_reason = _text()
    notes = _text()
    # A sub-processor's disclosure: the engagement that brought it in (registry/subprocessors/).
    engagement = _fk(SubprocessorEngagement, null=True)
    version = Integer(default=1)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class Transfer(Table, tablename="transfer"):
    """What makes a disclosure's international transfer lawful: its mechanism, assessment and documents."""

    disclosure = ForeignKey(
        references=Disclosure,
        null=False,
        default=None,
        unique=True,
        on_delete=OnDelete.restrict,
        on_update=OnUpdate.restrict,
    )
    mechanism = Varchar(length=30)  # TransferMechanism
    scc_module = Integer(null=True, default=None)
    derogation = _text(1)  # Derogation: which of Art. 49(1)(a)-(g)
    dpf_certified = Boolean(default=False)  # the US recipient is certified under the EU-US DPF
    mechanism_reference = _text(300)  # BCR approval, CAC assessment or certificate number
    filing_date = _date()
    filing_number = _text(100)
    separate_consent_reference = _text(300)  # PIPL Art. 39
    tia_date = _date()
    tia_reference = _text(300)
    tia_review_by = _date()
    document = _fk(StoredFile, null=True)
    notes = _text()
    version = Integer(default=1)
    updated_by = Varchar(length=100)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class DisclosureCategory(Table, tablename="disclosure_category"):
    """One category of one disclosure, with the disclosure's period copied in for indexed lookups."""

    disclosure = _fk(Disclosure)
    vendor = _fk(Vendor, index=False)
    category = Varchar(length=200)
    valid_from = Date()
    valid_to = _date()


class DeletionObligation(Table, tablename="deletion_obligation"):
    """The vendor's duty to delete (or return, then delete) the data once its contract has ended."""

    contract = ForeignKey(
        references=Contract,
        null=False,
        default=None,
        unique=True,
        on_delete=OnDelete.restrict,
        on_update=OnUpdate.restrict,
    )
    vendor = _fk(Vendor)
    ended_on = Date()
    end_kind = Varchar(length=20)
    end_reason = _text()
    due_on = Date(index=True)
    end_of_contract = Varchar(length=30)
    backups_in_scope = Boolean(default=False)
    categories = JSON(default=[])
    data_subjects = JSON(default=[])
    # The processor's sub-processors on the end day ({vendor_id, vendor_name, engagement_id}): each must
    # say whether it deleted.
    subprocessors = JSON(default=[])
    confirmed_on = _date()
    version = Integer(default=1)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class DeletionConfirmation(Table, tablename="deletion_confirmation"):
    """What the vendor reports about a deletion (NIST SP 800-88 certificate of sanitization fields)."""

    obligation = _fk(DeletionObligation)
    categories = JSON(default=[])
    details = JSON(default={})
    completed_on = Date()
    kind = Varchar(length=20, default="deletion")  # deletion or backup_follow_up
    # passed, partial or failed; NULL on confirmations recorded before it was a field: not stated.
    verification_outcome = _text(10)
    created_at = Timestamptz(default=TimestamptzNow())
    created_by = Varchar(length=120)


class ConfirmationEvidence(Table, tablename="confirmation_evidence"):
    """A file the vendor supplied as evidence of a deletion."""

    confirmation = _fk(DeletionConfirmation)
    file = _fk(StoredFile)
    created_at = Timestamptz(default=TimestamptzNow())


class Attestation(Table, tablename="attestation"):
    """A signed PDF certifying a confirmed deletion; the record and the PDF are never changed."""

    serial = Varchar(length=40, unique=True)
    # At most one unrevoked attestation per obligation: the partial unique index attestation_one_standing
    # (migration 0014); a revoked one stays, and its successor names it in ``supersedes``.
    obligation = ForeignKey(
        references=DeletionObligation,
        null=False,
        default=None,
        on_delete=OnDelete.restrict,
        on_update=OnUpdate.restrict,
    )
    vendor = _fk(Vendor)
    pdf = _fk(StoredFile)
    sha256 = Varchar(length=64, unique=True)
    facts = JSON(default={})
    issued_at = Timestamptz()
    issued_by = Varchar(length=120)
    revoked_at = Timestamptz(null=True, default=None)
    revoked_by = _text(120)
    revocation_reason = _text()
    supersedes = _text(40)  # the serial of the revoked attestation this one replaces


class JournalEntry(Table, tablename="journal_entry"):
    """A note on a vendor, contract, deletion or attestation. Append-only, like the change log."""

    object_type = Varchar(length=20)
    object_id = Integer(index=True)
    # The vendor the object belongs to, so that a vendor's page lists every note about it.
    vendor = _fk(Vendor)
    kind = Varchar(length=20)
    text = Text()
    author = Varchar(length=120)
    created_at = Timestamptz(default=TimestamptzNow())


class Webhook(Table, tablename="webhook"):
    """An endpoint that receives events. Its signing secret is derived from the server's webhook key
    and ``secret_salt``, so the database alone cannot sign a delivery."""

    url = Varchar(length=2048)
    events = JSON(default=[])
    description = _text(300)
    secret_salt = Varchar(length=64)
    created_at = Timestamptz(default=TimestamptzNow())
    created_by = Varchar(length=120)
    disabled_at = Timestamptz(null=True, default=None)
    version = Integer(default=1)


class WebhookEvent(Table, tablename="webhook_event"):
    """Something that happened, written in the transaction that made it happen (the outbox)."""

    id = BigSerial(primary_key=True)
    type = Varchar(length=60)
    object_type = Varchar(length=40)
    object_id = Varchar(length=100)
    payload = JSON(default={})
    # Events that must happen once per thing (a deletion becoming overdue) carry a key.
    dedupe_key = _text(200, unique=True)
    created_at = Timestamptz(default=TimestamptzNow())


class WebhookDelivery(Table, tablename="webhook_delivery"):
    """One event to one endpoint: pending until delivered or out of attempts."""

    webhook = _fk(Webhook)
    event = ForeignKey(
        references=WebhookEvent,
        null=False,
        default=None,
        on_delete=OnDelete.restrict,
        on_update=OnUpdate.restrict,
        index=True,
    )
    status = Varchar(length=20, default="pending", index=True)
    attempts = Integer(default=0)
    # Epoch milliseconds: compared the same way on both engines.
    next_attempt_ms = BigInt(default=0, index=True)
    lease_until_ms = BigInt(default=0)
    last_status_code = Integer(null=True, default=None)
    last_error = _text(1000)
    delivered_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())


class WebhookAttempt(Table, tablename="webhook_attempt"):
    """One try at a delivery, kept for the log."""

    delivery = _fk(WebhookDelivery)
    attempted_at = Timestamptz(default=TimestamptzNow())
    duration_ms = Integer(default=0)
    status_code = Integer(null=True, default=None)
    error = _text(1000)


class MailMessage(Table, tablename="mail_message"):
    """One e-mail in the outbox, written in the transaction that causes it (registry/mail/outbox.py).
    Bodies keep their ``[[name]]`` markers: links with tokens are minted at send time, never stored."""

    kind = Varchar(length=40)
    recipients = JSON(default=[])
    cc = JSON(default=[])
    subject = Varchar(length=998)
    text = Text(default="")
    html = _text()
    headers = JSON(default=[])
    about_type = _text(40, index=True)
    about_id = BigInt(null=True, default=None, index=True)
    minter = _text(60)
    # Generated at enqueue: every retry carries the same Message-ID, so a receiver can tell repeats apart.
    message_id = Varchar(length=250)
    status = Varchar(length=20, default="waiting", index=True)
    attempts = Integer(default=0)
    # Epoch milliseconds: compared the same way on both engines.
    next_attempt_ms = BigInt(default=0, index=True)
    lease_until_ms = BigInt(default=0)
    last_answer = _text(1000)
    created_at = Timestamptz(default=TimestamptzNow())
    sent_at = Timestamptz(null=True, default=None)


class MailAttempt(Table, tablename="mail_attempt"):
    """One try at sending a message: the SMTP server's answer (code and text) or the error."""

    message = _fk(MailMessage)
    attempted_at = Timestamptz(default=TimestamptzNow())
    duration_ms = Integer(default=0)
    code = Integer(null=True, default=None)
    answer = _text(1000)


class Change(Table, tablename="change"):
    """One write to one record, hash-chained to the write before it. Never updated or deleted."""

    id = BigSerial(primary_key=True)
    created_at = Timestamptz(default=TimestamptzNow())
    object_type = Varchar(length=40)
    object_id = Varchar(length=100)
    action = Varchar(length=20)
    before = JSON(null=True, default=None)
    after = JSON(null=True, default=None)
    actor = Varchar(length=120)
    request_id = _text(100)
    message = _text(1000)
    prev_hash = Varchar(length=64)
    hash = Varchar(length=64, unique=True)


class IdempotencyClaim(Table, tablename="idempotency_claim"):
    """A write made under a client's Idempotency-Key, committed with it, and the answer it got."""

    # SHA-256 of actor and key: a one-column unique target for ON CONFLICT (a composite unique
    # constraint is ALTER TABLE ADD CONSTRAINT in Piccolo, which SQLite lacks).
    scope = Varchar(length=64, unique=True)
    actor = Varchar(length=120)
    idempotency_key = Varchar(length=255)  # as the client sent it
    fingerprint = Varchar(length=64)  # SHA-256 of method, path, query, content type and body
    method = Varchar(length=10)
    path = Varchar(length=2000)
    token = Varchar(length=32)  # which attempt wrote it
    request_id = _text(100)
    first_change_id = BigInt()
    created_at = Timestamptz(default=TimestamptzNow())
    expires_at = Timestamptz(default=TimestamptzNow(), index=True)
    status = Integer(null=True, default=None)  # NULL until the answer is stored
    headers = _text()
    body = Bytea(null=True, default=None)


class Checkpoint(Table, tablename="change_checkpoint"):
    """The change log's head at one moment, signed with the registry's key; also kept as a file."""

    change_id = BigInt(index=True)
    created_at = Timestamptz(default=TimestamptzNow())
    # The canonical JSON that was signed (change id and hash, rows, time, certificate), kept verbatim.
    content = Text()
    signature = Text()
    # Base64 DER of an RFC 3161 timestamp token over SHA-256 of the signature bytes (REGISTRY_TSA_URL).
    timestamp_token = _text()


class HeldUpload(Table, tablename="held_upload"):
    """A file chosen on a web form that was refused for another reason, held for the person's retry:
    the form carries a random handle (the table its SHA-256), and the row expires within the hour."""

    handle_hash = Varchar(length=64, unique=True)
    person = Varchar(length=120)
    filename = Varchar(length=255)
    content_type = Varchar(length=100)
    size = Integer()
    data = Bytea()
    expires_at = Timestamptz(default=TimestamptzNow(), index=True)


class VendorRequest(Table, tablename="vendor_request"):
    """Something the registry asks a vendor to do and answer through the portal (today: delete the data
    of an ended contract); its state moves with the vendor's answers and the legal team's review."""

    obligation = _fk(DeletionObligation)
    vendor = _fk(Vendor)
    kind = Varchar(length=20, default="deletion")
    # sent, opened, submitted, returned, accepted, cancelled, cannot_be_asked (overdue is derived)
    state = Varchar(length=20, index=True)
    recipient = _text(320)
    due_on = Date()
    opened_at = Timestamptz(null=True, default=None)
    submitted_at = Timestamptz(null=True, default=None)
    closed_at = Timestamptz(null=True, default=None)
    return_reasons = _text()
    created_at = Timestamptz(default=TimestamptzNow())
    created_by = Varchar(length=120)
    updated_at = Timestamptz(default=TimestamptzNow())


class PortalToken(Table, tablename="portal_token"):
    """A link that opens one request in the vendor portal: only the SHA-256 of its token is kept."""

    request = _fk(VendorRequest)
    token_hash = Varchar(length=64, unique=True)
    created_at = Timestamptz(default=TimestamptzNow())
    expires_at = Timestamptz()
    revoked_at = Timestamptz(null=True, default=None)


class PortalSubmission(Table, tablename="portal_submission"):
    """What a vendor sent through the portal: a confirmation, a request for more time, or a question."""

    request = _fk(VendorRequest)
    kind = Varchar(length=20)  # confirmation, extension, question
    state = Varchar(length=20, default="submitted")  # submitted, returned, accepted
    data = JSON(default={})
    declaration = JSON(null=True, default=None)
    files = JSON(default=[])  # stored_file ids of the evidence uploaded with it
    email = Varchar(length=320)
    client_address = _text(100)
    user_agent = _text(500)
    created_at = Timestamptz(default=TimestamptzNow())
    reviewed_at = Timestamptz(null=True, default=None)
    reviewed_by = _text(120)
    review_reasons = _text()


class RequestReminder(Table, tablename="request_reminder"):
    """One step of a request's reminder schedule, recorded when its e-mail is queued: sent once."""

    request = _fk(VendorRequest)
    step = Varchar(length=40)
    # "<request>:<due date>:<step>": one row per step per due date (an extension starts a new schedule).
    step_key = Varchar(length=100, unique=True)
    created_at = Timestamptz(default=TimestamptzNow())


class JobLease(Table, tablename="job_lease"):
    """Which server process runs a scheduled job until when (epoch milliseconds)."""

    name = Varchar(length=60, unique=True)
    holder = Varchar(length=100)
    until_ms = BigInt(default=0)


class Subscriber(Table, tablename="subscriber"):
    """Someone who asked to hear of changes to the public sub-processor list (registry/notices/). The
    address is kept only while subscribed: unsubscribing erases it and leaves the row (by id) only."""

    email = _text(320, unique=True)
    state = Varchar(length=20, default="pending", index=True)  # pending, confirmed, unsubscribed
    created_at = Timestamptz(default=TimestamptzNow())
    confirmed_at = Timestamptz(null=True, default=None)
    ended_at = Timestamptz(null=True, default=None)


class SubprocessorNotice(Table, tablename="subprocessor_notice"):
    """One change to the sub-processor list notified to one subscriber: queued once (notice_key)."""

    subscriber = _fk(Subscriber)
    change_key = Varchar(length=200)  # "<added|removed|changed>-<vendor>-<effective day>"
    # "<subscriber>:<change_key>": each change is notified once per subscriber, whichever server runs.
    notice_key = Varchar(length=250, unique=True)
    change = Varchar(length=20)
    vendor_name = Varchar(length=200)
    summary = Text(default="")
    effective_on = Date()
    short_notice = Boolean(default=False)
    created_at = Timestamptz(default=TimestamptzNow())


class SubscriberToken(Table, tablename="subscriber_token"):
    """A link in a subscriber's e-mail (confirm, unsubscribe, object): only the SHA-256 is kept."""

    subscriber = _fk(Subscriber)
    purpose = Varchar(length=20)  # confirm, unsubscribe, object
    notice = _fk(SubprocessorNotice, null=True)  # the notice an objection link answers
    token_hash = Varchar(length=64, unique=True)
    created_at = Timestamptz(default=TimestamptzNow())
    expires_at = Timestamptz()


class NoticeObjection(Table, tablename="notice_objection"):
    """A subscriber's objection to a notified change: once per subscriber and change; late when it
    arrived after the change took effect."""

    notice = ForeignKey(
        references=SubprocessorNotice,
        null=False,
        default=None,
        on_delete=OnDelete.restrict,
        on_update=OnUpdate.restrict,
        unique=True,
    )
    subscriber = _fk(Subscriber)
    reason = _text()
    late = Boolean(default=False)
    created_at = Timestamptz(default=TimestamptzNow())


TABLES = (
    ApiKey,
    Person,
    WebSession,
    StoredFile,
    Vendor,
    Contract,
    TaxonomyEntry,
    SubprocessorEngagement,
    Disclosure,
    DisclosureCategory,
    Transfer,
    DeletionObligation,
    DeletionConfirmation,
    ConfirmationEvidence,
    Attestation,
    JournalEntry,
    Webhook,
    WebhookEvent,
    WebhookDelivery,
    WebhookAttempt,
    MailMessage,
    MailAttempt,
    Change,
    IdempotencyClaim,
    Checkpoint,
    HeldUpload,
    VendorRequest,
    PortalToken,
    PortalSubmission,
    RequestReminder,
    JobLease,
    Subscriber,
    SubprocessorNotice,
    SubscriberToken,
    NoticeObjection,
)
