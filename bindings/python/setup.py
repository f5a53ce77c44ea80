"""The package version is the C library's: CROCHET_VERSION_STRING in
include/crochet.h, written once there. Building from the repository
regenerates libcrochet/_version.py from the header; an sdist built elsewhere
keeps the generated file (tests/test_version.py checks that they agree).

With a library in libcrochet/_lib/ (make wheel puts one there, in a temporary
copy of this directory) the wheel is a platform wheel, py3-none-<platform>:
the Python code is for any Python 3, the library for one machine. make wheel
then has auditwheel turn linux_x86_64 into the manylinux tag the library
allows (and vendor libffi). Without one it is a pure py3-none-any wheel that
finds the library at run time."""

import glob
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


def platform_wheel():
    """With a library bundled: setup() arguments for a platform wheel
    (platlib, py3-none-<platform>); without one, none (a pure wheel)."""
    if not glob.glob(os.path.join(HERE, "libcrochet", "_lib", "libcrochet.so*")):
        return {}
    from setuptools.dist import Distribution
    try:
        from setuptools.command.bdist_wheel import bdist_wheel
    except ImportError:  # setuptools < 70.1
        from wheel.bdist_wheel import bdist_wheel

    class NativeDistribution(Distribution):
        def has_ext_modules(self):   # installed into platlib, not purelib
            return True

    class PlatformWheel(bdist_wheel):
        def get_tag(self):           # any Python 3, no Python ABI: ctypes only
            return ("py3", "none", super().get_tag()[2])

    return {"distclass": NativeDistribution, "cmdclass": {"bdist_wheel": PlatformWheel}}


setup(version=package_version(), **platform_wheel())
