"""Schemathesis generates requests from the OpenAPI schema: no 5xx, every answer matches the schema.

The suite runs a few dozen cases per operation; the README gives the longer run
(SCHEMATHESIS_EXAMPLES=500 or more).
"""

import os

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "40"))
OPERATIONS = ["POST /api/predictions/", "GET /api/predictions/", "GET /api/predictions/{id}/",
              "PUT /api/predictions/{id}/", "POST /api/predictions/{id}/feedback/", "DELETE /api/predictions/{id}/"]


@pytest.fixture(scope="module")
def api_schema(django_db_setup, django_db_blocker):
    # A real WSGI handler closes "obsolete" connections around each request, and a connection
    # inside a test's transaction looks obsolete; Django's test client unhooks this the same way.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        with django_db_blocker.unblock():
            schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())
        yield schema
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def test_every_operation_is_fuzzed(api_schema):
    labels = {result.ok().label for result in api_schema.get_all_operations()}
    assert labels == set(OPERATIONS)


@pytest.mark.django_db
@pytest.mark.parametrize("label", OPERATIONS)
def test_operation_conforms_to_its_schema(api_schema, label, settings):
    settings.PREDICTION_RATE_LIMIT = "100000/minute"
    operation = api_schema.find_operation_by_label(label)
    cases = []

    @given(case=operation.as_strategy())
    @hypothesis_settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    def call(case):
        cases.append(case)
        # A schema can say "binary" but not "a PNG of a digit", so schema-valid bytes may rightly get 400.
        case.call_and_validate(excluded_checks=[positive_data_acceptance])

    call()
    print(f"{label}: {len(cases)} generated cases")
