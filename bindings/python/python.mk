# The Python binding's targets, for the top Makefile:  include bindings/python/python.mk
#   make test-python          the pytest suite (in-process and subprocess tests)
#   make test-python-example  examples/python/demo.py
.PHONY: test-python test-python-example

PYTHON ?= python3

test-python: stage
	@$(PYTHON) -m pytest --version >/dev/null 2>&1 || $(PYTHON) -m pip install -q pytest
	PYTHONPATH=$(CURDIR)/bindings/python $(PYTHON) -m pytest -q bindings/python/tests

test-python-example: stage
	PYTHONPATH=$(CURDIR)/bindings/python timeout 60 $(PYTHON) examples/python/demo.py
