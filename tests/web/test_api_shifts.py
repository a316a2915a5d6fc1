"""The staff shifts API: open, cash in and out, close, read, list, the report as JSON and CSV; who may."""

from __future__ import annotations

import csv
import io
import threading

import pytest
import requests
from sqlalchemy import func, select

import pos
from accounts import create_staff
from core import Money, db
from core.actor import Actor
from tests.helpers import StaffCaller

PASSWORD = "correct-horse"
EMAILS = {"associate": "ana@example.com", "manager": "max@example.com", "admin": "sofia@example.com", "other": "olaf@example.com"}


def eur(amount):
    return {"amount": amount, "currency": "EUR"}


@pytest.fixture
def world(create_location):
    create_location("S1", "Berlin Mitte")
    create_location("S2", "München Maxvorstadt")
    pos.seed_registers(["S1", "S2"])
    for role, email, stores in [
        ("associate", EMAILS["associate"], ["S1"]),
        ("manager", EMAILS["manager"], ["S1"]),
        ("admin", EMAILS["admin"], []),
        ("associate", EMAILS["other"], ["S2"]),
    ]:
        create_staff(email, email.split("@")[0].title(), role, PASSWORD, stores)
    db.session.commit()


def Caller(app, who) -> StaffCaller:
    """A test client speaking as one staff member with a staff token."""
    return StaffCaller(app, EMAILS[who], PASSWORD)


@pytest.fixture
def ana(app, world):
    return Caller(app, "associate")


@pytest.fixture
def olaf(app, world):
    return Caller(app, "other")


@pytest.fixture
def sofia(app, world):
    return Caller(app, "admin")


@pytest.fixture
def shift(ana):
    answer = ana.post("/api/v1/shifts", json={"store": "S1", "register": "T1", "opening_float": eur(15000)})
    assert answer.status_code == 201, answer.json
    return answer.json


def test_opening_a_shift_answers_201_with_the_shift(ana, shift):
    assert shift["id"].startswith("shf_")
    assert {k: shift[k] for k in ("status", "store", "register", "currency", "opening_float", "expected", "counted", "variance", "closed_at")} == {
        "status": "open",
        "store": "S1",
        "register": "T1",
        "currency": "EUR",
        "opening_float": eur(15000),
        "expected": eur(15000),
        "counted": None,
        "variance": None,
        "closed_at": None,
    }
    assert shift["opened_by"] == f"staff:{ana.staff_id}" and shift["opened_at"].endswith("+00:00")
    assert ana.get(f"/api/v1/shifts/{shift['id']}").json == shift


def test_a_second_open_of_the_register_is_409_naming_the_register(ana, shift):
    again = ana.post("/api/v1/shifts", json={"store": "S1", "register": "T1", "opening_float": eur(100)})
    assert again.status_code == 409
    error = again.json["error"]
    assert error["code"] == "shift_open" and "T1" in error["message"]
    assert error["details"] == {"register": "T1", "store": "S1", "shift_id": shift["id"]}
    assert ana.post("/api/v1/shifts", json={"store": "S1", "register": "T2", "opening_float": eur(100)}).status_code == 201


@pytest.mark.parametrize(
    "body, fields",
    [
        ({}, {"store", "register", "opening_float"}),
        ({"store": "S1", "register": "T1", "opening_float": {"amount": -5, "currency": "EUR"}}, {"opening_float.amount"}),
        ({"store": "S1", "register": "T1", "opening_float": {"amount": "10", "currency": "EUR"}}, {"opening_float.amount"}),
        ({"store": "S1", "register": "T1", "opening_float": {"amount": 10, "currency": "eur"}}, {"opening_float.currency"}),
        ({"store": "S1", "register": "T7", "opening_float": eur(10)}, {"register"}),
        ({"store": "S1", "register": "", "opening_float": eur(10)}, {"register"}),
    ],
)
def test_a_bad_open_is_400_naming_the_fields_and_opens_nothing(ana, body, fields):
    answer = ana.post("/api/v1/shifts", json=body)
    assert answer.status_code == 400, answer.json
    assert set(answer.json["error"]["details"]) == fields
    assert db.session.scalar(select(func.count()).select_from(pos.Shift)) == 0


def test_an_unknown_store_is_400_for_an_admin(sofia):
    answer = sofia.post("/api/v1/shifts", json={"store": "NOPE", "register": "T1", "opening_float": eur(10)})
    assert answer.status_code == 400 and set(answer.json["error"]["details"]) == {"store"}


def test_cash_in_and_a_paid_out_change_the_expected_cash(ana, shift):
    cash_in = ana.post(f"/api/v1/shifts/{shift['id']}/cash-movements", json={"amount": eur(2000), "reason": "change from the bank"})
    assert cash_in.status_code == 201, cash_in.json
    assert {k: cash_in.json[k] for k in ("kind", "amount", "reason", "shift_id", "expected")} == {
        "kind": "cash_in",
        "amount": eur(2000),
        "reason": "change from the bank",
        "shift_id": shift["id"],
        "expected": eur(17000),
    }
    paid_out = ana.post(f"/api/v1/shifts/{shift['id']}/cash-movements", json={"amount": eur(-500), "reason": "milk for the staff room"})
    assert paid_out.status_code == 201 and paid_out.json["kind"] == "cash_out" and paid_out.json["expected"] == eur(16500)
    assert ana.get(f"/api/v1/shifts/{shift['id']}").json["expected"] == eur(16500)


def test_a_paid_out_beyond_the_drawer_is_409_and_changes_nothing(ana, shift):
    answer = ana.post(f"/api/v1/shifts/{shift['id']}/cash-movements", json={"amount": eur(-15001), "reason": "supplier"})
    assert answer.status_code == 409 and answer.json["error"]["code"] == "insufficient_cash"
    assert answer.json["error"]["details"]["expected"] == eur(15000)
    assert ana.get(f"/api/v1/shifts/{shift['id']}").json["expected"] == eur(15000)


@pytest.mark.parametrize(
    "body, fields",
    [
        ({"reason": "x"}, {"amount"}),
        ({"amount": eur(100)}, {"reason"}),
        ({"amount": eur(100), "reason": "   "}, {"reason"}),
        ({"amount": eur(0), "reason": "x"}, {"amount"}),
        ({"amount": {"amount": 100, "currency": "USD"}, "reason": "x"}, {"amount"}),
        ({"amount": {"amount": 1.5, "currency": "EUR"}, "reason": "x"}, {"amount.amount"}),
    ],
)
def test_a_bad_cash_movement_is_400_naming_the_field(ana, shift, body, fields):
    answer = ana.post(f"/api/v1/shifts/{shift['id']}/cash-movements", json=body)
    assert answer.status_code == 400, answer.json
    assert set(answer.json["error"]["details"]) == fields
    assert len(pos.shift_movements(shift["id"])) == 1


def test_closing_answers_expected_counted_and_variance(ana, shift):
    ana.post(f"/api/v1/shifts/{shift['id']}/cash-movements", json={"amount": eur(-1000), "reason": "courier"})
    closed = ana.post(f"/api/v1/shifts/{shift['id']}/close", json={"counted": eur(13950)})
    assert closed.status_code == 200, closed.json
    assert {k: closed.json[k] for k in ("status", "expected", "counted", "variance", "closed_by")} == {
        "status": "closed",
        "expected": eur(14000),
        "counted": eur(13950),
        "variance": eur(-50),
        "closed_by": f"staff:{ana.staff_id}",
    }


def test_closing_by_denomination_sums_the_notes_and_coins(ana, shift):
    closed = ana.post(f"/api/v1/shifts/{shift['id']}/close", json={"counted_by_denomination": {"100.00": 1, "20.00": 2, "5": 2, "0.20": 1}})
    assert closed.status_code == 200, closed.json
    assert closed.json["counted"] == eur(15020) and closed.json["variance"] == eur(20)
    assert closed.json["counted_by_denomination"] == {"100.00": 1, "20.00": 2, "5.00": 2, "0.20": 1}


@pytest.mark.parametrize(
    "body, fields",
    [
        ({}, {"counted"}),
        ({"counted_by_denomination": {"7.00": 1}}, {"counted_by_denomination.7.00"}),
        ({"counted_by_denomination": {"50.00": "two"}}, {"counted_by_denomination.50.00"}),
        ({"counted": eur(100), "counted_by_denomination": {"50.00": 1}}, {"counted"}),
        ({"counted": {"amount": 100, "currency": "GBP"}}, {"counted"}),
    ],
)
def test_a_bad_close_is_400_naming_the_field_and_the_shift_stays_open(ana, shift, body, fields):
    answer = ana.post(f"/api/v1/shifts/{shift['id']}/close", json=body)
    assert answer.status_code == 400, answer.json
    assert set(answer.json["error"]["details"]) == fields
    assert ana.get(f"/api/v1/shifts/{shift['id']}").json["status"] == "open"


def test_after_close_a_movement_and_a_second_close_are_422(ana, shift):
    assert ana.post(f"/api/v1/shifts/{shift['id']}/close", json={"counted": eur(15000)}).status_code == 200
    late = ana.post(f"/api/v1/shifts/{shift['id']}/cash-movements", json={"amount": eur(100), "reason": "late"})
    assert late.status_code == 422 and late.json["error"]["code"] == "invalid_transition"
    again = ana.post(f"/api/v1/shifts/{shift['id']}/close", json={"counted": eur(1)})
    assert again.status_code == 422
    assert ana.get(f"/api/v1/shifts/{shift['id']}").json["counted"] == eur(15000)


def test_an_unknown_shift_is_404(ana):
    assert ana.get("/api/v1/shifts/shf_nope").status_code == 404
    assert ana.post("/api/v1/shifts/shf_nope/close", json={"counted": eur(1)}).status_code == 404


def test_an_idempotent_retry_answers_the_first_result_and_moves_cash_once(ana, shift):
    body = {"amount": eur(-700), "reason": "taxi"}
    first = ana.post(f"/api/v1/shifts/{shift['id']}/cash-movements", json=body, key="pay-taxi-1")
    again = ana.post(f"/api/v1/shifts/{shift['id']}/cash-movements", json=body, key="pay-taxi-1")
    assert first.status_code == again.status_code == 201 and again.json == first.json
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert [m.kind for m in pos.shift_movements(shift["id"])] == ["float", "cash_out"]
    opened = ana.post("/api/v1/shifts", json={"store": "S1", "register": "T2", "opening_float": eur(10)}, key="open-t2")
    assert ana.post("/api/v1/shifts", json={"store": "S1", "register": "T2", "opening_float": eur(10)}, key="open-t2").json == opened.json


def test_staff_of_another_store_get_403_and_change_nothing(olaf, shift):
    sid = shift["id"]
    for answer in (
        olaf.post("/api/v1/shifts", json={"store": "S1", "register": "T2", "opening_float": eur(10)}),
        olaf.get(f"/api/v1/shifts/{sid}"),
        olaf.post(f"/api/v1/shifts/{sid}/cash-movements", json={"amount": eur(-10), "reason": "x"}),
        olaf.post(f"/api/v1/shifts/{sid}/close", json={"counted": eur(0)}),
        olaf.get(f"/api/v1/shifts/{sid}/report"),
        olaf.get(f"/api/v1/shifts/{sid}/report.csv"),
        olaf.get("/api/v1/shifts?store=S1"),
    ):
        assert answer.status_code == 403, answer.get_data(as_text=True)
        assert answer.json["error"]["details"] == {"store": "S1"}
    assert olaf.get("/api/v1/shifts").json["items"] == [], "without a store: only the stores they work at"
    assert [m.kind for m in pos.shift_movements(sid)] == ["float"]
    assert pos.get_shift(sid).status == "open"


def test_partner_keys_and_anonymous_callers_cannot_reach_shifts(client, partner, shift):
    refused = partner.get(f"/api/v1/shifts/{shift['id']}")
    assert refused.status_code == 403 and refused.json["error"]["details"] == {"required_scope": "staff"}
    assert partner.post("/api/v1/shifts", json={"store": "S1", "register": "T2", "opening_float": eur(1)}, key="k").status_code == 403
    assert client.get(f"/api/v1/shifts/{shift['id']}").status_code == 401
    assert client.post("/api/v1/shifts", json={"store": "S1", "register": "T2", "opening_float": eur(1)}).status_code == 401


def test_listing_shifts_by_store_and_status_pages_newest_first(ana, sofia, shift):
    t2 = ana.post("/api/v1/shifts", json={"store": "S1", "register": "T2", "opening_float": eur(10)}).json
    ana.post(f"/api/v1/shifts/{t2['id']}/close", json={"counted": eur(10)})
    s2 = sofia.post("/api/v1/shifts", json={"store": "S2", "register": "T1", "opening_float": eur(10)}).json
    assert [s["id"] for s in ana.get("/api/v1/shifts?store=S1").json["items"]] == [t2["id"], shift["id"]]
    assert [s["id"] for s in ana.get("/api/v1/shifts?store=S1&status=open").json["items"]] == [shift["id"]]
    assert [s["id"] for s in ana.get("/api/v1/shifts?status=closed").json["items"]] == [t2["id"]]
    assert [s["id"] for s in ana.get("/api/v1/shifts").json["items"]] == [t2["id"], shift["id"]]
    assert [s["id"] for s in sofia.get("/api/v1/shifts").json["items"]] == [s2["id"], t2["id"], shift["id"]]
    first = sofia.get("/api/v1/shifts?limit=2").json
    assert len(first["items"]) == 2 and first["next_cursor"]
    rest = sofia.get(f"/api/v1/shifts?limit=2&cursor={first['next_cursor']}").json
    assert [s["id"] for s in rest["items"]] == [shift["id"]] and rest["next_cursor"] is None
    bad = ana.get("/api/v1/shifts?status=paused")
    assert bad.status_code == 400 and set(bad.json["error"]["details"]) == {"status"}


def _trade(ana, shift):
    """A cash sale (50.00 tendered, 10.10 change), a cash refund of 19.90 (as checkout and returns record
    them), a paid-out of 3.00 over the API, then the close with 155.50 counted by denomination."""
    shift_row, actor = pos.get_shift(shift["id"]), Actor("staff", ana.staff_id, "Ana")
    pos.record_cash_sale(shift_row, Money(5000, "EUR"), Money(1010, "EUR"), "ord_1", actor)
    pos.record_cash_refund(shift_row, Money(1990, "EUR"), "ret_1", actor)
    db.session.commit()
    assert ana.post(f"/api/v1/shifts/{shift['id']}/cash-movements", json={"amount": eur(-300), "reason": "stamps, post office"}).status_code == 201
    counted = {"100.00": 1, "50.00": 1, "5.00": 1, "0.50": 1}
    assert ana.post(f"/api/v1/shifts/{shift['id']}/close", json={"counted_by_denomination": counted}).status_code == 200


def test_the_report_as_json_adds_up(ana, shift):
    _trade(ana, shift)
    report = ana.get(f"/api/v1/shifts/{shift['id']}/report").json
    expected = 15000 + 5000 - 1010 - 1990 - 300
    assert report["expected"] == eur(expected) and report["counted"] == eur(15550) and report["variance"] == eur(15550 - expected)
    assert (report["cash_sales"], report["cash_refunds"], report["cash_out"], report["cash_in"]) == (eur(3990), eur(1990), eur(300), eur(0))
    assert report["tenders"]["cash"]["net"] == eur(2000)
    assert [m["kind"] for m in report["movements"]] == ["float", "sale", "change", "refund", "cash_out"]
    assert report["shift"]["status"] == "closed"


def test_the_report_as_csv_has_every_figure_denomination_and_movement(ana, shift):
    _trade(ana, shift)
    answer = ana.get(f"/api/v1/shifts/{shift['id']}/report.csv")
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    assert f'filename="shift-{shift["id"]}.csv"' in answer.headers["Content-Disposition"]
    assert ana.get(f"/api/v1/shifts/{shift['id']}/report?format=csv").get_data() == answer.get_data()
    rows = list(csv.DictReader(io.StringIO(answer.get_data(as_text=True))))
    by_item = {row["item"]: row for row in rows}
    assert by_item["shift"]["detail"] == shift["id"] and by_item["register"]["detail"] == "T1" and by_item["status"]["detail"] == "closed"
    expected = 15000 + 5000 - 1010 - 1990 - 300
    assert (by_item["expected"]["amount"], by_item["expected"]["minor_units"], by_item["expected"]["currency"]) == ("167.00", str(expected), "EUR")
    assert (by_item["counted"]["amount"], by_item["variance"]["amount"]) == ("155.50", "-11.50")
    assert (by_item["opening_float"]["amount"], by_item["cash_sales"]["amount"], by_item["cash_refunds"]["amount"]) == ("150.00", "39.90", "19.90")
    assert by_item["tender.cash.net"]["amount"] == "20.00"
    assert by_item["denomination.50.00"]["detail"] == "1 x 50.00" and by_item["denomination.0.50"]["amount"] == "0.50"
    movements = [(row["item"], row["amount"]) for row in rows if row["item"].startswith("movement.")]
    assert movements == [
        ("movement.float", "150.00"),
        ("movement.sale", "50.00"),
        ("movement.change", "-10.10"),
        ("movement.refund", "-19.90"),
        ("movement.cash_out", "-3.00"),
    ]
    assert "stamps, post office" in next(row["detail"] for row in rows if row["item"] == "movement.cash_out")
    bad = ana.get(f"/api/v1/shifts/{shift['id']}/report?format=pdf")
    assert bad.status_code == 400 and set(bad.json["error"]["details"]) == {"format"}


def test_create_register_from_the_cli_is_safe_to_run_again(app, world):
    runner = app.test_cli_runner()
    made = runner.invoke(args=["create-register", "S1", "T3", "--name", "Tablet by the fitting rooms"])
    assert made.exit_code == 0, made.output
    assert made.output.strip() == "created: register T3 at S1 (Tablet by the fitting rooms)"
    again = runner.invoke(args=["create-register", "S1", "T3"])
    assert again.exit_code == 0 and again.output.startswith("exists: register T3 at S1")
    db.session.expire_all()
    assert [r.code for r in pos.list_registers("S1")] == ["T1", "T2", "T3"]
    unknown = runner.invoke(args=["create-register", "NOPE", "T1"])
    assert unknown.exit_code != 0 and "unknown store 'NOPE'" in unknown.output


def test_the_openapi_document_describes_the_shift_routes(client):
    spec = client.get("/api/v1/openapi.json").json
    assert {"201", "400", "401", "403", "409"} <= set(spec["paths"]["/api/v1/shifts"]["post"]["responses"])
    assert {"201", "409", "422"} <= set(spec["paths"]["/api/v1/shifts/{shift_id}/cash-movements"]["post"]["responses"])
    assert {"200", "422"} <= set(spec["paths"]["/api/v1/shifts/{shift_id}/close"]["post"]["responses"])
    assert "text/csv" in spec["paths"]["/api/v1/shifts/{shift_id}/report.csv"]["get"]["responses"]["200"]["content"]


def test_two_concurrent_opens_over_http_answer_201_and_409(world, live_server, app, row_locks):
    tokens = [Caller(app, "associate").token, Caller(app, "manager").token]
    barrier, answers = threading.Barrier(2), []

    def post(token):
        barrier.wait()
        answer = requests.post(
            live_server + "/api/v1/shifts",
            json={"store": "S1", "register": "T1", "opening_float": eur(10000)},
            headers={"Authorization": f"Bearer {token}"},
            timeout=60,
        )
        answers.append((answer.status_code, answer.json()))

    threads = [threading.Thread(target=post, args=(token,)) for token in tokens]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(status for status, _ in answers) == [201, 409], answers
    assert next(body for status, body in answers if status == 409)["error"]["code"] == "shift_open"
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(pos.Shift)) == 1
