# The API reference, for the top Makefile:  include mk/docs.mk
#   make docs         regenerates docs/api/*.md from include/crochet.h's comments
#   make check-docs   fails when the committed pages differ from what the header
#                     makes (part of make test, so the docs cannot drift), or
#                     when a Markdown file links outside the repository
.PHONY: docs check-docs

docs:
	python3 scripts/gen-api-docs.py include/crochet.h docs/api

check-docs:
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	python3 scripts/gen-api-docs.py include/crochet.h "$$tmp" >/dev/null && \
	if diff -ru docs/api "$$tmp"; then \
	    echo "check-docs: docs/api matches include/crochet.h"; \
	else \
	    echo "check-docs: docs/api is out of date with include/crochet.h: run make docs and commit docs/api" >&2; exit 1; \
	fi
	@python3 scripts/gen-api-docs.py --check-links $$(git ls-files -co --exclude-standard '*.md' 2>/dev/null || find . -name '*.md' -not -path './.build*' -not -path './build/*')
