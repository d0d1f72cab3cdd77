# PrixAgent: `make run` brings the platform up, `make test` runs the whole suite.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python

.PHONY: run test bench lint format install migrate serve-% sandbox demo worker beat clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

.env:
	$(PY) -m prixagent.envfile

migrate: install .env
	$(PY) manage.py migrate --noinput

## Bring the platform up on PORT (all surfaces, one process).
run: migrate
	$(PY) manage.py bootstrap_admin
	$(PY) manage.py serve all

## Serve one surface on its own port: make serve-admin, serve-api, serve-client, serve-landing.
serve-%: migrate
	$(PY) manage.py serve $*

## Background work with REDIS_URL set: any number of workers (on any machines), one beat.
worker: migrate
	$(VENV)/bin/celery -A prixagent.worker worker --loglevel=INFO

beat: migrate
	$(VENV)/bin/celery -A prixagent.worker beat --loglevel=INFO --schedule=var/celerybeat-schedule

## The whole suite, on PostgreSQL and Redis (DATABASE_URL if it is PostgreSQL, else 127.0.0.1).
test: install
	$(PY) -m ruff check .
	NODE_ENV=test $(PY) -m pytest

## Benchmarks (figures, no pass/fail). The API stack bench loads HTTP with wrk.
bench: install
	@command -v wrk >/dev/null || echo "make bench: wrk is not installed (apt-get install wrk); bench/api_stack.py will be skipped"
	NODE_ENV=test $(PY) bench/run.py

## The platform, the provider sandbox and a demo tenant, offline: log in and press "Call now".
demo: migrate
	$(PY) manage.py demo

## Fake Twilio/ElevenLabs/GHL/Cal.com/PayPal on 127.0.0.1 with demo credentials.
sandbox: install .env
	$(PY) manage.py provider_sandbox --demo

lint: install
	$(PY) -m ruff check .

format: install
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
