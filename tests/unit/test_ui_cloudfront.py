"""Invalidation paths, back-off on TooManyInvalidationsInProgress, and the completion waiter."""
from __future__ import annotations


import boto3
import pytest

from tars_tasks.aws import cloudfront
from tars_tasks.errors import StepFailed
from tests.support.recorder import aws_error
from bench.scenarios.ui_site import make_site


def test_paths_only_for_changed_html_and_non_hashed_files():
    assert cloudfront.paths_for(["index.html"]) == ["/", "/index.html"]
    assert cloudfront.paths_for(["help/index.html", "robots.txt"]) == ["/help/", "/help/index.html", "/robots.txt"]
    assert cloudfront.paths_for(["a b.html"]) == ["/a%20b.html"]
    assert cloudfront.paths_for([]) == []
    assert cloudfront.paths_for([], invalidate_all=True) == ["/*"]
    assert cloudfront.paths_for([f"page{i}.html" for i in range(15)]) != ["/*"]
    assert cloudfront.paths_for([f"page{i}.html" for i in range(16)]) == ["/*"]
    assert cloudfront.paths_for(["index.html"], invalidate_all=True) == ["/*"]


@pytest.fixture
def distribution(aws):
    _, dist_id = make_site()
    return dist_id


def test_backs_off_while_too_many_invalidations_are_in_progress(clients, distribution):
    busy_answers = iter([True, True])  # two refusals, then the emulator answers

    def busy(request, **_kw):
        if next(busy_answers, False):
            return aws_error(request.url, 400, "TooManyInvalidationsInProgress")
        return None

    clients("cloudfront").meta.events.register("before-send.cloudfront.CreateInvalidation", busy)
    slept = []
    inv_id = cloudfront.invalidate(clients, distribution, ["/index.html"], "ref-1", delay=0.5, max_attempts=5,
                                   sleep=slept.append)
    assert slept == [0.5, 1.0]
    got = boto3.client("cloudfront").get_invalidation(DistributionId=distribution, Id=inv_id)
    assert got["Invalidation"]["InvalidationBatch"]["Paths"]["Items"] == ["/index.html"]


def test_gives_up_after_max_attempts_with_a_hint(clients, distribution):
    clients("cloudfront").meta.events.register(
        "before-send.cloudfront.CreateInvalidation",
        lambda request, **_kw: aws_error(request.url, 400, "TooManyInvalidationsInProgress"))
    slept = []
    with pytest.raises(StepFailed, match="too many invalidations") as err:
        cloudfront.invalidate(clients, distribution, ["/"], "ref", delay=1, max_attempts=3, sleep=slept.append)
    assert slept == [1, 2] and "--invalidate-all" in err.value.hint


def test_wait_uses_the_invalidation_completed_waiter_with_cloudfronts_statuses(clients, distribution):
    inv_id = cloudfront.invalidate(clients, distribution, ["/"], "ref", delay=0, max_attempts=1)
    statuses = iter(["InProgress", "InProgress", "Completed"])  # what CloudFront answers
    polls = []

    def answer(request, **_kw):
        from botocore.awsrequest import AWSResponse

        from tests.support.recorder import _Raw

        status = next(statuses)
        polls.append(status)
        body = (f'<?xml version="1.0"?><Invalidation xmlns="http://cloudfront.amazonaws.com/doc/2020-05-31/">'
                f"<Id>{inv_id}</Id><Status>{status}</Status><CreateTime>2026-01-01T00:00:00Z</CreateTime>"
                f"<InvalidationBatch><Paths><Quantity>1</Quantity><Items><Path>/</Path></Items></Paths>"
                f"<CallerReference>ref</CallerReference></InvalidationBatch></Invalidation>").encode()
        return AWSResponse(request.url, 200, {"Content-Type": "text/xml"}, _Raw(body))

    clients("cloudfront").meta.events.register("before-send.cloudfront.GetInvalidation", answer)
    cloudfront.wait_completed(clients, distribution, inv_id, delay=0.001, max_attempts=5)
    assert polls == ["InProgress", "InProgress", "Completed"]


def test_wait_gives_up_as_a_step_failure(clients, distribution):
    inv_id = cloudfront.invalidate(clients, distribution, ["/"], "ref", delay=0, max_attempts=1)
    clients("cloudfront").meta.events.register(
        "before-send.cloudfront.GetInvalidation",
        lambda request, **_kw: aws_error(request.url, 404, "NoSuchInvalidation"))
    with pytest.raises(StepFailed, match="did not complete"):
        cloudfront.wait_completed(clients, distribution, inv_id, delay=0.001, max_attempts=2)


def test_the_emulator_invalidation_completes_too(clients, distribution):
    inv_id = cloudfront.invalidate(clients, distribution, ["/"], "ref", delay=0, max_attempts=1)
    cloudfront.wait_completed(clients, distribution, inv_id, delay=0.001, max_attempts=2)
    # moto answers "COMPLETED" (CloudFront: "Completed"): accepted, no WaiterError
