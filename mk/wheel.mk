# The Python wheel, for the top Makefile:  include mk/wheel.mk  (after python.mk)
#   make wheel       build/wheel/libcrochet-$(VERSION)-py3-none-manylinux_2_NN_<arch>.whl:
#                    the package with build/dist's stripped library inside, built
#                    from a temporary copy (bindings/python/build-wheel.sh) and
#                    tagged by auditwheel (which vendors libffi)
#   make test-wheel  installs it into a fresh venv and imports it under env -i
#                    with no toolchain on PATH; one reactor with a C library
#                    linked against libcrochet (Tests/wheel/run.sh)
.PHONY: wheel test-wheel

WHEEL_DIR := $(CURDIR)/build/wheel

wheel: dist
	PYTHON=$(PYTHON) nice bindings/python/build-wheel.sh $(DIST)/lib/$(LIBFILE) $(SONAME) \
	    include/crochet.h $(WHEEL_DIR)

test-wheel: wheel
	PYTHON=$(PYTHON) CC=$(CC) Tests/wheel/run.sh \
	    $$(ls $(WHEEL_DIR)/libcrochet-$(VERSION)-py3-none-manylinux_*.whl) $(STAGE) $(SONAME)
