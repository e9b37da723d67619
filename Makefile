# The two commands a newcomer needs:
#   make serve   set up everything (venv, packages, database, static files) and serve http://127.0.0.1:8000 on SQLite
#                (SERVE_ADDR=host:port for another address; make setup sets up without serving)
#   make test    run the whole test suite: on SQLite, then again on a throwaway PostgreSQL server
# Both are idempotent: run them as often as you like.
# And for a server: make production   nginx on 127.0.0.1:${PORT:-8080} in front of gunicorn, in the foreground
# (it needs DJANGO_SECRET_KEY; the README's "Running in production" says what else to set).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The MNIST files: ../shared/mnist beside the checkout when it is there, else data/mnist (see `manage.py fetch_mnist`).
MNIST_DATA_DIR ?= $(if $(wildcard ../shared/mnist/*.gz),$(abspath ../shared/mnist),$(CURDIR)/data/mnist)
export MNIST_DATA_DIR

.PHONY: serve setup test test-sqlite test-postgres system-packages data gunicorn production

# DEBUG is off unless DJANGO_DEBUG=1: development and the tests ask for it.
serve setup test data: export DJANGO_DEBUG ?= 1
# Where `make serve` listens: SERVE_ADDR=127.0.0.1:8001 make serve
SERVE_ADDR ?= 127.0.0.1:8000

serve: setup
	$(BIN)/python manage.py runserver $(SERVE_ADDR)

setup: $(BIN)/.installed
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py bootstrap_model
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(BIN)/python manage.py check

$(BIN)/.installed: requirements.txt
	PYTHON=$(PYTHON) scripts/system-packages venv
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

system-packages:
	PYTHON=$(PYTHON) scripts/system-packages venv chromium postgresql nginx

test: system-packages $(BIN)/.installed data test-sqlite test-postgres

# The MNIST files the tests read: fetched (and verified) only when one of the four is not there yet.
MNIST_FILES := train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte
data: $(BIN)/.installed
	@for name in $(MNIST_FILES); do ls $(MNIST_DATA_DIR)/$$name* >/dev/null 2>&1 || missing=1; done; \
		[ -z "$$missing" ] || $(BIN)/python manage.py fetch_mnist --data-dir $(MNIST_DATA_DIR)

# One pytest worker per core; each file's tests stay on one worker, so they share its fixtures (a
# live server, a browser, the production stack) as in a serial run.
PYTEST := $(BIN)/pytest -n auto --dist loadfile

test-sqlite: $(BIN)/.installed
	$(PYTEST)

# The browser, the production stack, training and what never touches the database are tested once, on
# SQLite: they do the same on either engine, while the API, leases, throttles and migrations run on both.
test-postgres: $(BIN)/.installed
	scripts/with-postgres $(PYTEST) -m "not slow and not trains and not browser and not nginx" --database-tests-only

# gunicorn alone, without the proxy: for comparison in the benchmarks; slow clients can stop it. Set up as
# `make production` sets up, its static files collected with DEBUG as gunicorn will run (off unless DJANGO_DEBUG=1):
# collected with DEBUG on, as `make setup` does, they have no hashed names, and with DEBUG off every page was a 500.
gunicorn: $(BIN)/.installed
	$(BIN)/python manage.py set_up_server
	$(BIN)/gunicorn mnistsite.wsgi -c deploy/gunicorn.conf.py

# Migrates, collects static files and checks, then runs nginx and gunicorn until Ctrl-C.
production: $(BIN)/.installed
	scripts/system-packages nginx
	$(BIN)/python -m deploy.production
