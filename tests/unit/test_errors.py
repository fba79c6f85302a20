"""The error taxonomy: every failure is transient or permanent, and survives Durable's text."""

from __future__ import annotations

import pytest
import requests
from simple_salesforce import exceptions as sf

from crosswalk.errors import (
    ActivityFailure,
    AuthenticationFailed,
    Conflict,
    ErrorKind,
    InvalidData,
    NotFound,
    PreconditionFailed,
    RateLimited,
    TransientError,
    error_for_salesforce,
    error_for_salesforce_record,
    error_for_status,
)


@pytest.mark.parametrize(
    ("status", "expected", "kind"),
    [
        (400, InvalidData, ErrorKind.PERMANENT),
        (404, NotFound, ErrorKind.PERMANENT),
        (409, Conflict, ErrorKind.PERMANENT),
        (412, PreconditionFailed, ErrorKind.PERMANENT),
        (422, InvalidData, ErrorKind.PERMANENT),
        (401, AuthenticationFailed, ErrorKind.PERMANENT),
        (408, TransientError, ErrorKind.TRANSIENT),
        (429, RateLimited, ErrorKind.TRANSIENT),
        (500, TransientError, ErrorKind.TRANSIENT),
        (503, TransientError, ErrorKind.TRANSIENT),
    ],
)
def test_http_status_classification(status, expected, kind):
    error = error_for_status("d2c", status, "boom")

    assert type(error) is expected
    assert error.kind is kind


def test_request_limit_exceeded_is_transient_even_though_it_is_a_403():
    error = error_for_status(
        "salesforce", 403, "TotalRequests Limit exceeded.", code="REQUEST_LIMIT_EXCEEDED"
    )

    assert isinstance(error, RateLimited) and error.retryable


def _sf_error(cls, status, body):
    return cls("https://x/services/data/v59.0/sobjects/Account", status, "Account", body)


@pytest.mark.parametrize(
    ("exc", "expected", "code"),
    [
        (
            _sf_error(
                sf.SalesforceMalformedRequest,
                400,
                [{"message": "bad", "errorCode": "INVALID_FIELD", "fields": ["Foo__c"]}],
            ),
            InvalidData,
            "INVALID_FIELD",
        ),
        (
            _sf_error(
                sf.SalesforceRefusedRequest,
                403,
                [
                    {
                        "message": "TotalRequests Limit exceeded.",
                        "errorCode": "REQUEST_LIMIT_EXCEEDED",
                    }
                ],
            ),
            RateLimited,
            "REQUEST_LIMIT_EXCEEDED",
        ),
        (
            _sf_error(
                sf.SalesforceRefusedRequest,
                403,
                [{"message": "no", "errorCode": "INSUFFICIENT_ACCESS"}],
            ),
            AuthenticationFailed,
            "INSUFFICIENT_ACCESS",
        ),
        (
            _sf_error(
                sf.SalesforceResourceNotFound, 404, [{"message": "gone", "errorCode": "NOT_FOUND"}]
            ),
            NotFound,
            "NOT_FOUND",
        ),
        (
            _sf_error(
                sf.SalesforceGeneralError,
                503,
                [{"message": "down", "errorCode": "SERVER_UNAVAILABLE"}],
            ),
            TransientError,
            "SERVER_UNAVAILABLE",
        ),
        (
            _sf_error(sf.SalesforceMoreThanOneRecord, 300, ["/a", "/b"]),
            Conflict,
            "MULTIPLE_RECORDS",
        ),
    ],
)
def test_simple_salesforce_exceptions_map_into_the_taxonomy(exc, expected, code):
    error = error_for_salesforce(exc)

    assert type(error) is expected
    assert error.code == code
    assert error.system == "salesforce"


def test_salesforce_field_errors_keep_the_field_name():
    exc = _sf_error(
        sf.SalesforceMalformedRequest,
        400,
        [{"message": "too long", "errorCode": "STRING_TOO_LONG", "fields": ["Name"]}],
    )

    assert error_for_salesforce(exc).field == "Name"


@pytest.mark.parametrize(
    ("code", "expected", "kind"),
    [
        ("UNABLE_TO_LOCK_ROW", TransientError, ErrorKind.TRANSIENT),
        ("DUPLICATES_DETECTED", Conflict, ErrorKind.PERMANENT),
        ("ENTITY_IS_DELETED", NotFound, ErrorKind.PERMANENT),
        ("STRING_TOO_LONG", InvalidData, ErrorKind.PERMANENT),
        ("INVALID_EMAIL_ADDRESS", InvalidData, ErrorKind.PERMANENT),
        ("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", InvalidData, ErrorKind.PERMANENT),
        ("REQUIRED_FIELD_MISSING", InvalidData, ErrorKind.PERMANENT),
        ("FIELD_INTEGRITY_EXCEPTION", InvalidData, ErrorKind.PERMANENT),
    ],
)
def test_salesforce_answers_are_classified_by_their_code_whole_call_or_per_record(
    code, expected, kind
):
    whole = _sf_error(
        sf.SalesforceMalformedRequest,
        400,
        [{"message": "refused", "errorCode": code, "fields": ["Email"]}],
    )
    record = {"statusCode": code, "message": "refused", "fields": ["Email"]}

    for error in (
        error_for_salesforce(whole),
        error_for_salesforce_record("Contact", "003xx", record),
    ):
        assert type(error) is expected and error.kind is kind
        assert error.code == code and error.field == "Email"
    assert "Contact 003xx field Email" in str(
        error_for_salesforce_record("Contact", "003xx", record)
    )


@pytest.mark.parametrize("exc", [requests.ConnectTimeout("t"), requests.ConnectionError("reset")])
def test_network_failures_are_transient(exc):
    assert error_for_salesforce(exc).kind is ErrorKind.TRANSIENT


def test_failure_survives_the_text_durable_hands_the_orchestrator():
    error = error_for_status("d2c", 409, "customer exists", code="conflict")
    text = (
        f'Activity function \'d2c_create_customer\' failed: Conflict: {error} \n {{"$type": "..."}}'
    )

    failure = ActivityFailure.parse(Exception(text))

    assert failure.kind is ErrorKind.PERMANENT
    assert (failure.system, failure.status, failure.code) == ("d2c", 409, "conflict")
    assert failure.detail.startswith("customer exists")


def test_untagged_failure_is_treated_as_a_permanent_bug():
    failure = ActivityFailure.parse(Exception("Activity function 'x' failed: KeyError: 'a'"))

    assert failure.kind is ErrorKind.PERMANENT
    assert failure.code == "UNEXPECTED"
    assert "KeyError" in failure.detail
