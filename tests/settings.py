"""The test suite runs the development configuration (DEBUG off is the default for everyone else).

pytest-django still turns DEBUG off while each test runs; what DJANGO_DEBUG=1 gives the tests is
the development key and plain static files, as `make serve` has.
"""

import os

os.environ.setdefault("DJANGO_DEBUG", "1")

from mnistsite.settings import *  # noqa: E402,F403

# Test users log in many times; the production hasher's deliberate slowness buys the tests nothing.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# The tests review drawings a moment after making them; the queue's wait for a drawer to finish is tested
# on its own (tests/test_review_queue.py).
REVIEW_SETTLE_SECONDS = 0
