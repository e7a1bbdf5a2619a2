"""Each date rule's Python predicate and its SQL twin agree on the edge dates, on both engines."""

from datetime import date, timedelta

import pytest
from piccolo.columns.combination import WhereRaw

from registry.contracts import rules
from registry.enums import ContractStatus, VendorStatus
from registry.tables import Contract, Vendor
from registry.vendors.service import with_deletion_state
from tests.conftest import make_contract, make_disclosure, make_vendor

pytestmark = pytest.mark.anyio

START, EXPIRY, TERMINATED = date(2025, 3, 1), date(2025, 8, 31), date(2025, 5, 15)
DEADLINE = 30
# First day and the day before, last day and the day after, the termination day and the day after,
# the last day of the deletion window and the day after, and a day long after.
DAYS = sorted(
    {
        START - timedelta(days=1),
        START,
        TERMINATED,
        TERMINATED + timedelta(days=1),
        EXPIRY,
        EXPIRY + timedelta(days=1),
        TERMINATED + timedelta(days=DEADLINE),
        TERMINATED + timedelta(days=DEADLINE + 1),
        EXPIRY + timedelta(days=DEADLINE),
        EXPIRY + timedelta(days=DEADLINE + 1),
        date(2999, 1, 1),
    }
)
PREDICATES = {
    rules.in_force: rules.in_force_sql,
    rules.ended: rules.ended_sql,
    rules.in_deletion_window: rules.in_deletion_window_sql,
}


@pytest.fixture
async def contracts(client, auth) -> dict[str, int]:
    """One vendor a contract: fixed term, open-ended, terminated mid-period, draft, not yet signed, and
    fixed term with a disclosure."""
    made = {}
    for name, fields in {
        "fixed": {"expires_on": EXPIRY.isoformat()},
        "open": {"expires_on": None},
        "terminated": {"expires_on": EXPIRY.isoformat()},
        "unsigned": {"signed_on": None, "expires_on": EXPIRY.isoformat()},
        "no_start": {"effective_from": None, "expires_on": None},
        "disclosed": {"expires_on": EXPIRY.isoformat()},
    }.items():
        vendor = await make_vendor(client, auth, name=f"Vendor {name}")
        body = {"effective_from": START.isoformat(), "deletion_deadline_days": DEADLINE, **fields}
        made[name] = (await make_contract(client, auth, vendor["id"], **body))["id"]
    # Data disclosed under it: once it has ended, its vendor is offboarding until the deletion is attested.
    period = {"valid_from": START.isoformat(), "valid_to": EXPIRY.isoformat()}
    await make_disclosure(client, auth, vendor["id"], made["disclosed"], **period)
    response = await client.post(
        f"/contracts/{made['terminated']}/terminate",
        json={"terminated_on": TERMINATED.isoformat(), "reason": "moved to another provider"},
        headers=auth(),
    )
    assert response.status_code == 200, response.text
    return made


async def _ids(table, sql_args) -> set[int]:
    sql, args = sql_args
    return {r["id"] for r in await table.select(table.id).where(WhereRaw(sql, *args))}


async def test_the_edge_dates_cover_every_outcome(contracts):
    rows = await Contract.select()
    seen = {rules.contract_status(row, day) for row in rows for day in DAYS}
    assert seen == set(ContractStatus)
    by_id = {row["id"]: row for row in rows}
    assert by_id[contracts["terminated"]]["ends_on"] == TERMINATED
    assert by_id[contracts["open"]]["ends_on"] is None


@pytest.mark.parametrize("day", DAYS, ids=str)
async def test_contract_rules_agree_with_their_sql(contracts, day):
    rows = await Contract.select()
    assert len(rows) == len(contracts)
    for predicate, twin in PREDICATES.items():
        expected = {row["id"] for row in rows if predicate(row, day)}
        assert await _ids(Contract, twin(day)) == expected, (predicate.__name__, day)
    for status in ContractStatus:
        expected = {row["id"] for row in rows if rules.contract_status(row, day) is status}
        assert await _ids(Contract, rules.contract_status_sql(status, day)) == expected, (status, day)


@pytest.mark.parametrize("day", DAYS, ids=str)
async def test_vendor_status_agrees_with_its_sql(contracts, day):
    rows = await with_deletion_state(await Contract.select())
    assert [r["id"] for r in rows if r["disclosed"]] == [contracts["disclosed"]]
    vendors = {r["id"] for r in await Vendor.select(Vendor.id)}
    for status in VendorStatus:
        expected = {
            v for v in vendors if rules.vendor_status([r for r in rows if r["vendor"] == v], day) is status
        }
        assert await _ids(Vendor, rules.vendor_status_sql(status, day)) == expected, (status, day)


def _id(value) -> str:
    """A stable test id: a set's order differs between processes (pytest-xdist compares the ids)."""
    return ",".join(sorted(value)) if isinstance(value, set) else str(value)


@pytest.mark.parametrize(
    ("day", "in_force"),
    [
        (START - timedelta(days=1), set()),
        (START, {"fixed", "disclosed", "open", "terminated"}),
        (TERMINATED, {"fixed", "disclosed", "open", "terminated"}),
        (TERMINATED + timedelta(days=1), {"disclosed", "fixed", "open"}),
        (EXPIRY, {"disclosed", "fixed", "open"}),
        (EXPIRY + timedelta(days=1), {"open"}),
    ],
    ids=_id,
)
async def test_in_force_is_inclusive_at_both_ends(contracts, day, in_force):
    ids = await _ids(Contract, rules.in_force_sql(day))
    assert ids == {contracts[name] for name in in_force}
