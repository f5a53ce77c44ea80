# Generated from CROCHET_VERSION_STRING in include/crochet.h by setup.py (and
# checked against it and the loaded library by tests/test_version.py): the
# version is written once, in the header. Do not edit.
__version__ = "0.2.0"
