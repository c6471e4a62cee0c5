# The two commands of the README, and the support tasks beside them.
.PHONY: run test check bench seed

run:   ## set up a virtualenv, migrate, create the admin and demo data, serve on http://127.0.0.1:8000
	./scripts/run_local.sh

test:  ## set up a virtualenv with the dev tools and run the static checks and the whole test suite
	./scripts/test.sh

check: ## static checks only (ruff, mypy, import-linter)
	./scripts/test.sh --checks-only
