# OpenIPT — the two set-up commands are `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
export DJANGO_SETTINGS_MODULE ?= config.settings

.PHONY: run test coverage-strict demo lint messages migrate-check deploy-check install install-dev worker serve bench clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
	  { echo "OpenIPT needs Python 3.11 or newer ($(PYTHON) is older)."; exit 1; }
	@$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); \
	  echo "Could not create $(VENV). On Debian/Ubuntu: sudo apt-get install -y python3-venv"; exit 1; }
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed-base: requirements/base.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements/base.txt
	touch $@

$(VENV)/.installed-dev: requirements/dev.txt requirements/base.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements/dev.txt
	touch $(VENV)/.installed-base $@

## The compiled translation catalogues (docs/translation.md), rebuilt when a .po changes.
CATALOGUES := $(patsubst %.po,%.mo,$(wildcard locale/*/LC_MESSAGES/django.po))
locale/%.mo: locale/%.po | $(VENV)/.installed-base
	$(BIN)/pybabel compile --locale $(word 2,$(subst /, ,$@)) -i $< -o $@

install: $(VENV)/.installed-base $(CATALOGUES)
install-dev: $(VENV)/.installed-dev $(CATALOGUES)

## Gather the strings of the code into the Spanish catalogue (needs GNU gettext), then
## check it; translate what is new (docs/translation.md).
messages: install-dev
	$(PY) manage.py makemessages -l es -e html,txt,py --no-obsolete \
	  --ignore='.venv/*' --ignore='node_modules/*' --ignore='static/*' --ignore='staticfiles/*' \
	  --ignore='*/tests/*' --ignore='tests/*' --ignore='bench/*'
	$(PY) scripts/check_messages.py

## Serve OpenIPT on http://127.0.0.1:8000 (gunicorn + background worker, SQLite under var/).
run: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py rebuild_course_summaries --missing
	$(PY) manage.py collectstatic --noinput --verbosity 0
	$(PY) manage.py createcachetable
	exec $(PY) manage.py serve

## Run the whole test suite (browser tests need Debian's chromium; see README), under the
## test settings, with branch coverage: a floor for the whole of openipt/ and 100% for the
## strict set (scripts/coverage_strict.py). `make test COVERAGE=` runs without coverage,
## e.g. for a subset: `make test COVERAGE= PYTEST_ARGS=openipt/audit`.
COVERAGE_FLOOR := 93
COVERAGE ?= --cov --cov-report=term-missing:skip-covered --cov-fail-under=$(COVERAGE_FLOOR)
test: install-dev
	$(PY) manage.py collectstatic --noinput --verbosity 0
	$(BIN)/pytest --ds=config.test_settings -n 2 --dist loadgroup $(COVERAGE) $(PYTEST_ARGS)
	$(if $(strip $(COVERAGE)),$(MAKE) --no-print-directory coverage-strict)

## 100% line and branch coverage of the strict set, from the last `make test`'s .coverage.
coverage-strict: install-dev
	$(PY) scripts/coverage_strict.py

## Load a demo practice with clearly fictional clients.
demo: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py load_demo

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy openipt config
	$(BIN)/lint-imports

migrate-check: install-dev
	$(PY) manage.py makemigrations --check --dry-run

deploy-check: install
	OPENIPT_HTTPS=1 DJANGO_SECRET_KEY=$$($(PY) -c "import secrets;print(secrets.token_urlsafe(64))") \
	  DJANGO_ALLOWED_HOSTS=openipt.example.org $(PY) manage.py check --deploy --fail-level WARNING

## The load scenario (bench/README.md), e.g. `make bench BENCH_ARGS="--db postgres"`.
bench: install-dev
	$(PY) bench/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) staticfiles
