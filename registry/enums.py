"""Every enumeration of the domain, in one place."""

from enum import StrEnum


class Role(StrEnum):
    """What a key or person may do; each role includes the ones below it."""

    lookup = "lookup"
    viewer = "viewer"
    editor = "editor"
    admin = "admin"

    @property
    def rank(self) -> int:
        return _RANKS[self]


_RANKS = {role: rank for rank, role in enumerate(Role)}  # checked on every request: computed once


class VendorKind(StrEnum):
    """The kinds of third party policy §6.1 allows data to go to under contract."""

    associated_business = "associated_business"
    agent = "agent"
    service_provider = "service_provider"
    contractor = "contractor"


class RecipientRole(StrEnum):
    """In which role a vendor receives the data of one disclosure (EDPB Guidelines 07/2020; PIPL 21/23)."""

    processor = "processor"  # GDPR Art. 28; the entrusted party of PIPL Art. 21
    sub_processor = "sub_processor"  # engaged by a processor of ours (Art. 28(2) and (4))
    independent_controller = "independent_controller"  # another handler under PIPL Art. 23
    joint_controller = "joint_controller"  # Art. 26; PIPL Art. 20


class TransferMechanism(StrEnum):
    """What makes an international transfer lawful: GDPR Chapter V, or PIPL Art. 38 for data leaving China."""

    adequacy = "adequacy"  # GDPR Art. 45
    scc_2021 = "scc_2021"  # Art. 46(2)(c), Implementing Decision (EU) 2021/914, modules 1-4
    bcr = "bcr"  # Art. 47
    derogation_49 = "derogation_49"  # Art. 49(1)(a)-(g)
    cac_security_assessment = "cac_security_assessment"  # PIPL Art. 38(1), Art. 40
    standard_contract = "standard_contract"  # PIPL Art. 38(3), filed with the provincial CAC
    certification = "certification"  # PIPL Art. 38(2)
    # Data leaving a country that is neither in the EEA nor China, under that country's own transfer
    # rules (e.g. the UK's IDTA, Switzerland's FADP Art. 16): named in mechanism_reference.
    other_law = "other_law"


GDPR_MECHANISMS = frozenset(
    {
        TransferMechanism.adequacy,
        TransferMechanism.scc_2021,
        TransferMechanism.bcr,
        TransferMechanism.derogation_49,
    }
)
PIPL_MECHANISMS = frozenset(set(TransferMechanism) - GDPR_MECHANISMS - {TransferMechanism.other_law})


class Derogation(StrEnum):
    """Which of GDPR Art. 49(1)(a)-(g) a derogation relies on."""

    a = "a"  # explicit consent
    b = "b"  # contract with the data subject
    c = "c"  # contract in the data subject's interest
    d = "d"  # important reasons of public interest
    e = "e"  # legal claims
    f = "f"  # vital interests
    g = "g"  # public register


class VendorStatus(StrEnum):
    """Derived from the vendor's contracts on a given day."""

    prospective = "prospective"
    active = "active"
    offboarding = "offboarding"
    former = "former"


class ContractKind(StrEnum):
    nda = "nda"
    dpa = "dpa"
    msa = "msa"
    sow = "sow"
    other = "other"


class ContractStatus(StrEnum):
    """Derived from the contract's dates on a given day."""

    draft = "draft"
    active = "active"
    expired = "expired"
    terminated = "terminated"


class EndOfContract(StrEnum):
    """What the vendor must do with the data when the contract ends (GDPR Art. 28(3)(g))."""

    delete = "delete"
    return_then_delete = "return_then_delete"


class ChangeAction(StrEnum):
    create = "create"
    update = "update"
    delete = "delete"
    terminate = "terminate"
    upload = "upload"
    revoke = "revoke"
    end = "end"
    open = "open"
    confirm = "confirm"
    issue = "issue"
    send = "send"
    cancel = "cancel"
    submit = "submit"
    accept = "accept"
    return_ = "return"
    extend = "extend"
    object_ = "object"


class Authorisation(StrEnum):
    """How we authorised a processor's sub-processor (GDPR Art. 28(2)): this one by name, or any, told
    of each in advance so that we may object."""

    specific = "specific"
    general = "general"


class TaxonomyKind(StrEnum):
    """The three hierarchies of the fideslang taxonomy."""

    data_category = "data_category"
    data_use = "data_use"
    data_subject = "data_subject"


class LegalBasis(StrEnum):
    """Why a disclosure is lawful: under contract (policy §6.1), with consent, or required by law."""

    contract = "contract"
    consent = "consent"
    legal_obligation = "legal_obligation"


class DeletionStatus(StrEnum):
    """Derived: open until due, overdue after, confirmed when every category is reported deleted,
    attested once a (non-revoked) attestation is issued."""

    open = "open"
    overdue = "overdue"
    confirmed = "confirmed"
    attested = "attested"


class SanitizationMethod(StrEnum):
    """NIST SP 800-88 Rev. 1 categories of sanitization, weakest first (clear < purge < destroy)."""

    clear = "clear"
    purge = "purge"
    destroy = "destroy"

    @property
    def strength(self) -> int:
        return list(SanitizationMethod).index(self)


class VerificationOutcome(StrEnum):
    """What the verification of a deletion found: only ``passed`` can be attested."""

    passed = "passed"
    partial = "partial"
    failed = "failed"


class ConfirmationKind(StrEnum):
    """deletion: the vendor's report of the deletion; backup_follow_up: its later report that the
    backup copies, which outlived the deletion, are gone too."""

    deletion = "deletion"
    backup_follow_up = "backup_follow_up"


class SanitizationTechnique(StrEnum):
    logical_deletion = "logical_deletion"
    overwrite = "overwrite"
    cryptographic_erase = "cryptographic_erase"
    block_erase = "block_erase"
    degaussing = "degaussing"
    physical_destruction = "physical_destruction"
    return_then_delete = "return_then_delete"
    other = "other"


class AttestationStatus(StrEnum):
    valid = "valid"
    tampered = "tampered"
    revoked = "revoked"
    unknown = "unknown"


class JournalObject(StrEnum):
    """What a journal entry can be about."""

    vendor = "vendor"
    contract = "contract"
    deletion = "deletion"
    attestation = "attestation"


class JournalKind(StrEnum):
    """info: a note; warning: something to watch; finding: a supervision finding (an audit result,
    a breach of contract); review: the vendor was reviewed (the supervision report counts these)."""

    info = "info"
    warning = "warning"
    finding = "finding"
    review = "review"


class RequestState(StrEnum):
    """Where a request to a vendor stands; ``overdue`` is derived (due date passed, nothing submitted)."""

    sent = "sent"
    opened = "opened"
    submitted = "submitted"
    returned = "returned"
    accepted = "accepted"
    overdue = "overdue"
    cannot_be_asked = "cannot_be_asked"
    cancelled = "cancelled"


class SubmissionKind(StrEnum):
    confirmation = "confirmation"
    extension = "extension"
    question = "question"


class SubmissionState(StrEnum):
    submitted = "submitted"
    returned = "returned"
    accepted = "accepted"
