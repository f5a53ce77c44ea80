"""The package version is the C library's: CROCHET_VERSION_STRING in
include/crochet.h, written once there. Building from the repository
regenerates libcrochet/_version.py from the header; an sdist built elsewhere
keeps the generated file (tests/test_version.py checks that they agree)."""

import os
import re

from setuptools import setup

HERE = os.path.dirname(os.path.abspath(__file__))
HEADER = os.path.join(HERE, "..", "..", "include", "crochet.h")
VERSION_FILE = os.path.join(HERE, "libcrochet", "_version.py")
TEMPLATE = '''# Generated from CROCHET_VERSION_STRING in include/crochet.h by setup.py (and
# checked against it and the loaded library by tests/test_version.py): the
# version is written once, in the header. Do not edit.
__version__ = "%s"
'''


def header_version(path=HEADER):
    with open(path) as f:
        match = re.search(r'^#define\s+CROCHET_VERSION_STRING\s+"([^"]+)"', f.read(), re.M)
    if match is None:
        raise SystemExit("%s has no CROCHET_VERSION_STRING" % path)
    return match.group(1)


def package_version():
    if os.path.exists(HEADER):
        version = header_version()
        text = TEMPLATE % version
        with open(VERSION_FILE) as f:
            current = f.read()
        if current != text:
            with open(VERSION_FILE, "w") as f:
                f.write(text)
        return version
    with open(VERSION_FILE) as f:
        return re.search(r'__version__ = "([^"]+)"', f.read()).group(1)


setup(version=package_version())
