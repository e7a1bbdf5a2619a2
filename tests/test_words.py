"""Words, not keys: vendor kinds, data subjects, categories, methods and techniques appear by their names
(fideslang's, from the taxonomy table), the key after them in small type, on the attestation, the
recipients report and the pages."""

import io

import pytest
from pypdf import PdfReader

from tests.conftest import confirmed_deletion, ended_contract
from tests.test_web import people, sign_in  # noqa: F401 - the fixture is used by name

pytestmark = pytest.mark.anyio


def pdf_text(pdf: bytes) -> str:
    return " ".join(" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(pdf)).pages)


async def test_the_attestation_names_kinds_subjects_categories_and_methods(client, auth):
    deletion = await confirmed_deletion(client, auth)
    issued = (await client.post(f"/deletions/{deletion['id']}/attestation", headers=auth("editor"))).json()
    pdf = (await client.get(f"/attestations/{issued['serial']}/pdf", headers=auth())).content
    text = pdf_text(pdf)
    for words in [
        "Kind Service provider (service_provider)",
        "Data subjects Customer (customer)",
        "Categories covered User Contact Email (user.contact.email)",
        "purge — cryptographic erase; tool vault-shred 2.1 (purge, cryptographic_erase)",
    ]:
        assert words in text, words
    facts = PdfReader(io.BytesIO(pdf)).attachments["attestation.json"][0].decode()
    assert '"service_provider": "Service provider"' in facts  # the names it was issued with


async def test_a_renamed_category_is_printed_by_its_new_name(client, auth, app):
    from registry.tables import TaxonomyEntry

    await TaxonomyEntry.update({TaxonomyEntry.name: "E-mail address"}).where(
        TaxonomyEntry.key == "user.contact.email"
    )
    deletion = await confirmed_deletion(client, auth)
    issued = (await client.post(f"/deletions/{deletion['id']}/attestation", headers=auth("editor"))).json()
    pdf = (await client.get(f"/attestations/{issued['serial']}/pdf", headers=auth())).content
    assert "Categories covered E-mail address (user.contact.email)" in pdf_text(pdf)


async def test_the_recipients_report_names_them(client, auth):
    await ended_contract(client, auth)
    response = await client.get("/exports/recipients.pdf", params={"as_of": "2025-06-01"}, headers=auth())
    assert response.status_code == 200, response.text
    text = pdf_text(response.content)
    assert "Service provider (service_provider)" in text
    assert "User Contact Email (user.contact.email)" in text and "Customer (customer)" in text


async def test_the_pages_name_them(client, auth, people):  # noqa: F811
    vendor, _ = await ended_contract(client, auth)
    await sign_in(client, name="viewer-person")
    page = (await client.get(f"/ui/vendors/{vendor['id']}")).text
    assert 'Service provider <small class="key">(service_provider)</small>' in page
    assert 'User Contact Email <small class="key">(user.contact.email)</small>' in page
    listing = (await client.get("/ui/vendors")).text
    assert 'Service provider <small class="key">(service_provider)</small>' in listing
    await sign_in(client, name="lookup-person")
    found = await client.get("/ui/lookup", params={"category": "user.contact", "as_of": "2025-06-01"})
    assert 'User Contact Email <small class="key">(user.contact.email)</small>' in found.text


def test_an_unnamed_key_is_said_plainly():
    from registry.words import Words

    words = Words({"data_category": {"user.name": "Name"}})
    assert (words("data_category", "user.name"), words("data_category", "custom.pet_name")) == (
        "Name",
        "custom pet name",
    )
    assert (
        str(words.keyed("vendor_kind", "<agent>"))
        == '&lt;agent&gt; <small class="key">(&lt;agent&gt;)</small>'
    )


def test_a_list_says_the_words_then_the_keys():
    from registry.words import Words

    words = Words({"data_category": {"user.contact.email": "User Contact Email", "user.name": "Name"}})
    assert str(words.keyed_list("data_category", ["user.contact.email", "user.name"])) == (
        'User Contact Email, Name <small class="key">(user.contact.email, user.name)</small>'
    )
    assert str(words.keyed_list("data_category", [])) == "—"
