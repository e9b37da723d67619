"""Schemathesis generates requests from the OpenAPI schema: no 5xx, every answer matches the schema.

The suite runs a few dozen cases per operation; the README gives the longer run
(SCHEMATHESIS_EXAMPLES=500 or more).
"""

import os

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "40"))
OPERATIONS = ["POST /api/predictions/", "GET /api/predictions/", "GET /api/predictions/{id}/",
              "POST /api/predictions/{id}/feedback/"]


@pytest.fixture(scope="module")
def api_schema():
    return schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())


def test_every_operation_is_fuzzed(api_schema):
    labels = {result.ok().label for result in api_schema.get_all_operations()}
    assert labels == set(OPERATIONS)


@pytest.mark.django_db
@pytest.mark.parametrize("label", OPERATIONS)
def test_operation_conforms_to_its_schema(api_schema, label, settings):
    settings.PREDICTION_RATE_LIMIT = "100000/minute"
    operation = api_schema.find_operation_by_label(label)

    @given(case=operation.as_strategy())
    @hypothesis_settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    def call(case):
        # A schema can say "binary" but not "a PNG of a digit", so schema-valid bytes may rightly get 400.
        case.call_and_validate(excluded_checks=[positive_data_acceptance])

    call()
