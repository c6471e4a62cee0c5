# The two commands of the README, and the support tasks beside them.
.PHONY: run test check bench

run:   ## set up a virtualenv, migrate, create the admin and demo data, serve on http://127.0.0.1:8000 (make run PORT=8080)
	./scripts/run_local.sh

test:  ## set up a virtualenv with the dev tools and run the static checks and the whole test suite
	./scripts/test.sh

check: ## static checks only (ruff, mypy, import-linter)
	./scripts/test.sh --checks-only

bench: ## load-test the service beside a bare baseline app on PostgreSQL (needs wrk); knobs in scripts/bench/__init__.py
	@bash -c 'source scripts/_venv.sh && ensure_venv requirements-dev.txt'
	.venv/bin/python -m scripts.bench.run
