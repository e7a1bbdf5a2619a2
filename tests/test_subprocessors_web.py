"""The vendor page shows the sub-processor chain as a tree, in words."""

import pytest

from tests.conftest import make_vendor
from tests.test_subprocessors import chain_world, engage
from tests.test_web import people, sign_in  # noqa: F401 (people is a fixture)

pytestmark = pytest.mark.anyio


async def test_the_vendor_page_shows_the_chain_as_a_tree(client, auth, people):  # noqa: F811
    w = await chain_world(client, auth)
    deeper = await make_vendor(client, auth, name="Tape Vault")
    assert (
        await engage(client, auth, w["sub"]["id"], deeper["id"], authorisation="specific")
    ).status_code == 201
    await sign_in(client, name="viewer-person")
    page = await client.get(f"/ui/vendors/{w['processor']['id']}")
    assert page.status_code == 200, page.text
    text = page.text
    assert '<h2 id="subprocessors">Sub-processors</h2>' in text
    tree = text[text.index('<div class="chain">') :]
    assert tree.index("Backup Services") < tree.index("Tape Vault")
    assert "under our general authorisation" in tree and "under our specific authorisation" in tree
    assert f'<a href="/ui/vendors/{deeper["id"]}">Tape Vault</a>' in tree
    lowest = await client.get(f"/ui/vendors/{deeper['id']}")
    assert (
        "Tape Vault is a sub-processor of Backup Services, itself a sub-processor of Cloud Hosting"
        in lowest.text
    )
