import boto3
import pytest

from tests.support.handler import call, configure, create_resources, handler_module, item_count

TABLE = "sre-poc-incidents"


@pytest.fixture
def h(aws, monkeypatch):
    configure(monkeypatch)
    create_resources()
    return handler_module()


def test_create_update_list_incident(h):
    status, created = call(h, "create_incident", service="payment-service", severity="p1",
                           title="Card payments failing", description="502 from gateway")
    assert status == 200
    iid = created["incident_id"]
    stored = boto3.client("dynamodb").get_item(TableName=TABLE, Key={"incident_id": {"S": iid}})["Item"]
    assert stored["severity"]["S"] == "P1" and stored["status"]["S"] == "open"
    assert stored["service"]["S"] == "payment-service" and stored["created_at"]["S"]

    status, listed = call(h, "list_incidents", "GET", status="open")
    assert status == 200 and listed["count"] == 1 and listed["incidents"][0]["incident_id"] == iid

    status, updated = call(h, "update_incident", incident_id=iid, status="resolved")
    assert status == 200 and updated["status"] == "resolved" and updated["resolved_at"]
    stored = boto3.client("dynamodb").get_item(TableName=TABLE, Key={"incident_id": {"S": iid}})["Item"]
    assert stored["status"]["S"] == "resolved"
    assert call(h, "list_incidents", "GET", status="open")[1]["count"] == 0


def test_list_filters_by_status_and_severity_through_the_status_index(h):
    for sev in ("P1", "P2", "P3"):
        call(h, "create_incident", service="order-service", severity=sev, title=f"{sev} thing")
    p2 = call(h, "list_incidents", "GET", severity="P2")[1]
    assert [i["severity"] for i in p2["incidents"]] == ["P2"]
    both = call(h, "list_incidents", "GET", status="open", severity="P3")[1]
    assert both["count"] == 1
    assert call(h, "list_incidents", "GET")[1]["count"] == 3


@pytest.mark.parametrize("fields, message", [
    ({"service": "payment-service", "severity": "P5", "title": "x"}, "severity"),
    ({"service": "payment-service", "severity": "P1"}, "missing field 'title'"),
    ({"severity": "P1", "title": "x"}, "missing field 'service'"),
    ({"service": "bad name!", "severity": "P1", "title": "x"}, "service"),
    ({"service": "payment-service", "severity": "P1", "title": "x" * 201}, "longer than 200"),
])
def test_bad_create_is_400_and_writes_nothing(h, fields, message):
    status, body = call(h, "create_incident", **fields)
    assert status == 400 and message in body["error"]
    assert item_count(TABLE) == 0


def test_update_wrong_status_is_400_and_missing_incident_is_404(h):
    iid = call(h, "create_incident", service="payment-service", severity="P2", title="x")[1]["incident_id"]
    status, body = call(h, "update_incident", incident_id=iid, status="closed")
    assert status == 400 and "open, investigating, mitigated, resolved" in body["error"]
    assert call(h, "list_incidents", "GET", status="open")[1]["count"] == 1
    status, body = call(h, "update_incident", incident_id="INC-nope", status="resolved")
    assert status == 404 and "INC-nope" in body["error"]
    assert item_count(TABLE) == 1


def test_list_with_a_wrong_status_filter_is_400(h):
    status, body = call(h, "list_incidents", "GET", status="closed")
    assert status == 400 and "status" in body["error"]
