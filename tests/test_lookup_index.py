"""Lookups answered from the worker's in-memory index give the JSON the SQL queries give, for every
question over a generated register with edge dates, and after writes the index applied one by one."""

import random
from collections.abc import AsyncIterator
from datetime import date, timedelta

import httpx
import pytest

from tests.conftest import Server, make_contract, make_disclosure, make_vendor
from tests.harness import started_app

pytestmark = pytest.mark.anyio

CATEGORIES = [
    "user",
    "user.contact",
    "user.contact.email",
    "user.contact.phone_number",
    "user.contact.address",
    "user.financial",
    "user.name",
    "user.biometric",
]
PURPOSES = ["essential.service.operations", "essential.service.operations.support", "marketing"]
# Vendor 1's disclosures 0 and 1 (to the US from the tests' origin, DE) have transfer records.
TRANSFERS = {
    0: {"mechanism": "scc_2021", "scc_module": 2, "tia_date": "2024-12-01", "tia_review_by": "2025-06-30"},
    1: {"mechanism": "scc_2021", "scc_module": 1},
}


@pytest.fixture
async def sql_worker(settings) -> AsyncIterator[httpx.AsyncClient]:
    """A second app on the same database answering from SQL queries (the index off)."""
    async with started_app(settings.model_copy(update={"lookup_index": False})) as application:
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://registry.test") as http:
            yield http


def _day(text: str | None, shift: int) -> str | None:
    return None if text is None else (date.fromisoformat(text) + timedelta(days=shift)).isoformat()


async def _register(client, auth, rnd: random.Random) -> tuple[list[dict], list[str]]:
    """Vendors with an expiring, an open-ended and a terminated contract; disclosures on every basis,
    open-ended, ending, inheriting the contract's last day, ended; one vendor abroad, its transfers
    under SCCs assessed until mid-year, unassessed, or without a mechanism; the edge days of them all."""
    vendors, days = [], set()
    for n in range(4):
        vendor = await make_vendor(client, auth, name=f"Vendor {n}", country="US" if n == 1 else "DE")
        expires = "2025-12-31" if n % 2 == 0 else None
        contract = await make_contract(
            client, auth, vendor["id"], reference=f"DPA-{n}", effective_from="2025-01-01", expires_on=expires
        )
        for k in range(5):
            start = date(2025, 1, 1) + timedelta(days=rnd.randrange(0, 200))
            fields = {
                "categories": rnd.sample(CATEGORIES, rnd.randint(1, 3)),
                "purpose": rnd.choice(PURPOSES),
                "valid_from": start.isoformat(),
            }
            if k % 3 == 1:
                fields["valid_to"] = (start + timedelta(days=rnd.randrange(0, 120))).isoformat()
            contract_id = contract["id"]
            if k == 4:
                fields.update(basis="consent", consent_reference=f"C-{n}")
                contract_id = None
            made = await make_disclosure(client, auth, vendor["id"], contract_id, **fields)
            days.update(d for d in (made["valid_from"], made["valid_to"]) if d)
            if n == 1 and k in TRANSFERS:
                put = await client.put(
                    f"/disclosures/{made['id']}/transfer", json=TRANSFERS[k], headers=auth()
                )
                assert put.status_code == 201, put.text
            if k == 2:
                ended_on = _day(made["valid_from"], rnd.randrange(0, 30))
                ended = await client.post(
                    f"/disclosures/{made['id']}/end",
                    json={"ended_on": ended_on, "reason": "stopped"},
                    headers=auth(),
                )
                assert ended.status_code == 200, ended.text
                days.add(ended_on)
        if n == 3:
            terminated = await client.post(
                f"/contracts/{contract['id']}/terminate",
                json={"terminated_on": "2025-09-30", "reason": "moved"},
                headers=auth(),
            )
            assert terminated.status_code == 200, terminated.text
        days.update(("2025-01-01", "2025-06-30", "2025-09-30", "2025-12-31"))
        vendors.append(vendor)
    vendors += await _chain(client, auth, vendors[0], rnd)
    days.update(("2025-02-01", "2025-03-01"))
    edges = sorted({_day(d, shift) for d in days for shift in (-1, 0, 1)})
    return vendors, edges


async def _chain(client, auth, processor: dict, rnd: random.Random) -> list[dict]:
    """Sub-processors two deep below the first vendor, each with its own sub_processor disclosure."""
    contract = await make_contract(
        client, auth, processor["id"], reference="DPA-P", effective_from="2025-01-01"
    )
    await make_disclosure(
        client, auth, processor["id"], contract["id"], categories=["user.contact"], valid_from="2025-01-01"
    )
    subs, above = [], processor
    for depth, start in ((0, "2025-02-01"), (1, "2025-03-01")):
        sub = await make_vendor(client, auth, name=f"Sub {depth}")
        body = {"subprocessor_id": sub["id"], "authorisation": "specific", "valid_from": start}
        engaged = await client.post(f"/vendors/{above['id']}/subprocessors", json=body, headers=auth())
        assert engaged.status_code == 201, engaged.text
        await make_disclosure(
            client,
            auth,
            sub["id"],
            None,
            basis="legal_obligation",
            legal_reference="Art. 28(4)",
            role="sub_processor",
            engagement_id=engaged.json()["id"],
            categories=rnd.sample(CATEGORIES, 2),
            valid_from=start,
        )
        subs.append(sub)
        above = sub
    return subs


def _questions(vendors: list[dict], days: list[str], rnd: random.Random) -> list[tuple[str, str, dict]]:
    asked: list[tuple[str, str, dict]] = []
    for day in days:
        category = rnd.choice(CATEGORIES)
        asked.append(("GET", "/lookup/recipients", {"category": category, "as_of": day}))
        asked.append(("GET", f"/lookup/vendors/{rnd.choice(vendors)['id']}", {"as_of": day}))
        body = {
            "vendor": rnd.choice(vendors)["id"],
            "categories": rnd.sample(CATEGORIES, rnd.randint(1, 3)),
            "on": day,
        }
        if rnd.random() < 0.4:
            body["purpose"] = rnd.choice(PURPOSES)
        asked.append(("POST", "/lookup/check", body))
    for _ in range(40):
        first, last = sorted(rnd.sample(days, 2))
        params = {"category": rnd.sample(CATEGORIES, rnd.randint(1, 2)), "from": first, "to": last}
        params |= {"limit": rnd.choice([1, 2, 3, 1000]), "offset": rnd.choice([0, 1, 2, 5, 50])}
        asked.append(("GET", "/lookup/history", params))
    asked += [
        ("GET", "/lookup/history", {"category": "user", "from": days[-1], "to": days[0]}),  # 422
        ("GET", "/lookup/recipients", {"category": "user.nothing_here", "as_of": days[0]}),  # 422
        ("GET", "/lookup/vendors/99999", {"as_of": days[0]}),  # 404
        ("POST", "/lookup/check", {"vendor": 99999, "categories": ["user"], "on": days[0]}),  # 422
        ("POST", "/lookup/check", {"vendor": vendors[0]["id"], "categories": ["user.no"], "on": days[0]}),
    ]
    return asked


def _body(response: httpx.Response) -> dict:
    return {k: v for k, v in response.json().items() if k != "request_id"}  # a problem's own id


async def _same_answers(index_app, sql_app, auth, questions) -> int:
    """Every question asked of both apps; returns how many were answered 200."""
    answered = 0
    for method, path, question in questions:
        kwargs = {"json": question} if method == "POST" else {"params": question}
        headers = {**auth("lookup"), "Cache-Control": "no-cache"}
        from_index = await index_app.request(method, path, headers=headers, **kwargs)
        from_sql = await sql_app.request(method, path, headers=headers, **kwargs)
        assert from_index.status_code == from_sql.status_code, (method, path, question, from_sql.text)
        assert _body(from_index) == _body(from_sql), (method, path, question)
        answered += from_index.status_code == 200
    return answered


async def test_the_index_answers_as_the_queries_do(client, auth, sql_worker):
    rnd = random.Random(19)  # noqa: S311 (test data, not secrets)
    vendors, days = await _register(client, auth, rnd)
    questions = _questions(vendors, days, rnd)
    answered = await _same_answers(client, sql_worker, auth, questions)
    assert answered >= len(questions) - 5  # all but the five bad questions found answers to compare
    totals = [
        (
            await client.get(
                "/lookup/recipients", params={"category": "user", "as_of": d}, headers=auth("lookup")
            )
        ).json()["total"]
        for d in days
    ]
    assert max(totals) > 3 and min(totals) == 0  # the days cover full and empty answers
    abroad = {"vendor": vendors[1]["id"], "categories": CATEGORIES[1:], "on": "2025-08-01"}
    answer = (await client.post("/lookup/check", json=abroad, headers=auth("lookup"))).json()
    assert "transfer" in " ".join(answer["reasons"])  # the questions include refused transfers
    everyone = {"category": "user", "as_of": "2025-06-01"}
    items = (await client.get("/lookup/recipients", params=everyone, headers=auth("lookup"))).json()["items"]
    chains = {i["vendor_name"]: [link["vendor_name"] for link in i["chain"]] for i in items if i["chain"]}
    assert chains == {"Sub 0": ["Vendor 0"], "Sub 1": ["Vendor 0", "Sub 0"]}  # compared with SQL above


async def test_writes_are_applied_to_the_index_one_by_one(app, client, auth, sql_worker):
    rnd = random.Random(21)  # noqa: S311 (test data, not secrets)
    vendors, days = await _register(client, auth, rnd)
    questions = _questions(vendors, days, rnd)
    await _same_answers(client, sql_worker, auth, questions[:3])
    index = app.state["lookup_index"].index
    assert index is not None
    listed = (await client.get("/disclosures", params={"limit": 100}, headers=auth())).json()["items"]
    open_one = next(d for d in listed if d["ended_reason"] is None and d["basis"] == "consent")
    abroad = [d for d in listed if d["vendor_id"] == vendors[1]["id"]]
    scc = {"mechanism": "scc_2021", "scc_module": 2, "tia_date": "2024-12-01"}
    writes = [
        ("PUT", f"/disclosures/{abroad[0]['id']}/transfer", {**scc, "tia_review_by": "2025-03-31"}),
        ("PUT", f"/disclosures/{abroad[3]['id']}/transfer", scc),
        ("PATCH", f"/vendors/{vendors[1]['id']}", {"name": "Renamed vendor"}),
        ("PATCH", f"/vendors/{vendors[0]['id']}", {"name": "Renamed processor"}),  # in the chains
        ("POST", "/subprocessor-engagements/2/end", {"ended_on": "2025-08-31", "reason": "done"}),
        ("PATCH", f"/disclosures/{open_one['id']}", {"categories": ["user.name", "user.contact.email"]}),
        ("PATCH", f"/disclosures/{open_one['id']}", {"valid_from": "2024-12-31"}),
        ("POST", f"/disclosures/{open_one['id']}/end", {"ended_on": "2024-12-31", "reason": "done"}),
        (
            "POST",
            f"/contracts/{listed[0]['contract_id']}/terminate",
            {"terminated_on": "2025-10-15", "reason": "over"},
        ),
    ]
    for method, path, body in writes:
        written = await sql_worker.request(method, path, json=body, headers=auth())
        assert written.status_code in (200, 201), written.text
        await _same_answers(client, sql_worker, auth, rnd.sample(questions, 30))
    new = await make_disclosure(
        sql_worker,
        auth,
        vendors[0]["id"],
        None,
        basis="consent",
        consent_reference="C-new",
        valid_from=days[1],
    )
    await _same_answers(client, sql_worker, auth, questions)
    assert app.state["lookup_index"].index is index  # caught up from the change log, not loaded again
    assert new["id"] in index.disclosures


async def test_a_write_through_one_app_is_in_the_next_lookup_through_another(client, auth, other_worker):
    """Both apps answer from their own index; the second learns of the first's write by the head."""
    vendor = await make_vendor(client, auth, name="Acme")
    contract = await make_contract(client, auth, vendor["id"], reference="DPA-1", effective_from="2025-01-01")
    body = {"vendor": vendor["id"], "categories": ["user.contact.email"], "on": "2025-06-01"}
    refused = await other_worker.post("/lookup/check", json=body, headers=auth("lookup"))
    assert refused.json()["allowed"] is False
    await make_disclosure(client, auth, vendor["id"], contract["id"])
    allowed = await other_worker.post("/lookup/check", json=body, headers=auth("lookup"))
    assert allowed.json()["allowed"] is True
    question = {"category": "user.contact", "as_of": "2025-06-01"}
    assert (await other_worker.get("/lookup/recipients", params=question, headers=auth("lookup"))).json()[
        "total"
    ] == 1
    renamed = await client.patch(f"/vendors/{vendor['id']}", json={"name": "Acme Two"}, headers=auth())
    assert renamed.status_code == 200, renamed.text
    after = await other_worker.get("/lookup/recipients", params=question, headers=auth("lookup"))
    assert [item["vendor_name"] for item in after.json()["items"]] == ["Acme Two"]


async def test_every_worker_of_a_server_sees_a_write_in_its_next_lookup(client, auth, settings):
    """`registry serve --workers 2`: each worker's index learns of a write made elsewhere (here the
    test's app) at the lookup after it, on whichever worker a new connection lands."""
    vendor = await make_vendor(client, auth, name="Acme")
    contract = await make_contract(client, auth, vendor["id"], reference="DPA-1", effective_from="2025-01-01")
    question = {"category": "user.contact", "as_of": "2025-06-01"}
    server = Server(settings, workers=2)
    try:
        server.start()

        async def totals() -> list[int]:
            found = []
            for _ in range(8):  # a connection each: the kernel spreads them over the workers
                async with httpx.AsyncClient(base_url=server.base) as http:
                    answer = await http.get("/lookup/recipients", params=question, headers=auth("lookup"))
                    assert answer.status_code == 200, answer.text
                    found.append(answer.json()["total"])
            return found

        assert await totals() == [0] * 8
        await make_disclosure(client, auth, vendor["id"], contract["id"])
        assert await totals() == [1] * 8
    finally:
        server.stop()
