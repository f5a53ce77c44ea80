"""run_in_reactor and wait_for stacked with @classmethod and @staticmethod
(either way round) and on plain methods, as crochet's decorators are; the
wrappers keep names, docstrings, signatures and __wrapped__."""

import ctypes
import inspect

import pytest

import libcrochet
from helpers import LIMIT


class Service:
    """Every stacking, each method reporting what it was bound to."""

    factor = 10

    def __init__(self, factor):
        self.factor = factor

    @libcrochet.run_in_reactor
    @classmethod
    def class_over(cls, x):
        """run_in_reactor over classmethod."""
        return cls.__name__, x * cls.factor, libcrochet.in_reactor_thread()

    @classmethod
    @libcrochet.run_in_reactor
    def class_under(cls, x):
        """run_in_reactor under classmethod."""
        return cls.__name__, x * cls.factor, libcrochet.in_reactor_thread()

    @libcrochet.run_in_reactor
    @staticmethod
    def static_over(x, y=1):
        """run_in_reactor over staticmethod."""
        return x + y, libcrochet.in_reactor_thread()

    @staticmethod
    @libcrochet.run_in_reactor
    def static_under(x, y=1):
        """run_in_reactor under staticmethod."""
        return x + y, libcrochet.in_reactor_thread()

    @libcrochet.wait_for(timeout=LIMIT)
    @classmethod
    def wait_class_over(cls, x):
        """wait_for over classmethod."""
        return cls.__name__, x * cls.factor

    @classmethod
    @libcrochet.wait_for(timeout=LIMIT)
    def wait_class_under(cls, x):
        """wait_for under classmethod."""
        return cls.__name__, x * cls.factor

    @libcrochet.wait_for(timeout=LIMIT)
    @staticmethod
    def wait_static_over(x, *, y=1):
        """wait_for over staticmethod."""
        return x + y

    @staticmethod
    @libcrochet.wait_for(timeout=LIMIT)
    def wait_static_under(x, *, y=1):
        """wait_for under staticmethod."""
        return x + y

    @libcrochet.run_in_reactor
    def method(self, x):
        """run_in_reactor on a method."""
        return x * self.factor, libcrochet.in_reactor_thread()

    @libcrochet.wait_for(timeout=LIMIT)
    def wait_method(self, x):
        """wait_for on a method."""
        return x * self.factor

    @libcrochet.wait_for(timeout=LIMIT)
    @classmethod
    async def async_class(cls, x):
        """wait_for over an async classmethod."""
        return cls.__name__, await libcrochet.succeed(x)


class Child(Service):
    factor = 3


def test_classmethod_either_way():
    """Over or under @classmethod, the function runs on the reactor thread
    with the class it was called through (also through an instance or a
    subclass)."""
    for name in ("class_over", "class_under"):
        assert getattr(Service, name)(2).wait(LIMIT) == ("Service", 20, True)
        assert getattr(Service(5), name)(2).wait(LIMIT) == ("Service", 20, True)
        assert getattr(Child, name)(2).wait(LIMIT) == ("Child", 6, True)
    for name in ("wait_class_over", "wait_class_under"):
        assert getattr(Service, name)(2) == ("Service", 20)
        assert getattr(Child(1), name)(2) == ("Child", 6)
    assert Child.async_class(7) == ("Child", 7)


def test_staticmethod_either_way():
    """Over or under @staticmethod, the function gets only its own arguments,
    through the class or an instance."""
    for name in ("static_over", "static_under"):
        assert getattr(Service, name)(1, y=2).wait(LIMIT) == (3, True)
        assert getattr(Service(0), name)(1).wait(LIMIT) == (2, True)
    for name in ("wait_static_over", "wait_static_under"):
        assert getattr(Service, name)(1, y=5) == 6
        assert getattr(Service(0), name)(1) == 2


def test_plain_methods():
    """On a plain method, self is bound as usual."""
    assert Service(4).method(2).wait(LIMIT) == (8, True)
    assert Service(4).wait_method(3) == 12


@pytest.mark.parametrize("name", [
    "class_over", "class_under", "static_over", "static_under", "wait_class_over",
    "wait_class_under", "wait_static_over", "wait_static_under", "method", "wait_method",
    "async_class"])
def test_names_docstrings_signatures(name):
    """The methods keep their name, qualified name, docstring, and the
    signature of the function without cls/self; __wrapped__ (and crochet's
    wrapped_function) lead to the original function."""
    original = {
        "class_over": lambda cls, x: None, "class_under": lambda cls, x: None,
        "wait_class_over": lambda cls, x: None, "wait_class_under": lambda cls, x: None,
        "async_class": lambda cls, x: None,
        "static_over": lambda x, y=1: None, "static_under": lambda x, y=1: None,
        "wait_static_over": lambda x, *, y=1: None, "wait_static_under": lambda x, *, y=1: None,
        "method": lambda self, x: None, "wait_method": lambda self, x: None,
    }[name]
    bound = getattr(Service(1), name)
    assert bound.__name__ == name
    assert bound.__qualname__ == "Service." + name
    assert bound.__doc__.startswith(("run_in_reactor", "wait_for"))
    expected = inspect.signature(original)
    params = list(expected.parameters.values())
    if params and params[0].name in ("cls", "self"):
        expected = expected.replace(parameters=params[1:])
    assert inspect.signature(bound) == expected
    assert inspect.signature(getattr(Service, name)) == (
        inspect.signature(original) if name in ("method", "wait_method") else expected)
    unwrapped = inspect.unwrap(bound)
    assert unwrapped.__name__ == name and unwrapped.__qualname__ == "Service." + name
    assert not hasattr(unwrapped, "wrapped_function")
    raw = Service.__dict__[name]
    function = raw.__func__ if isinstance(raw, (classmethod, staticmethod)) else raw
    assert function.wrapped_function is unwrapped


def test_descriptor_kind_is_kept():
    """Over a classmethod or staticmethod the decorators give the same kind
    of descriptor, so classes see what they expect."""
    assert isinstance(Service.__dict__["class_over"], classmethod)
    assert isinstance(Service.__dict__["wait_class_over"], classmethod)
    assert isinstance(Service.__dict__["static_over"], staticmethod)
    assert isinstance(Service.__dict__["wait_static_over"], staticmethod)


def test_wait_for_method_on_the_reactor_thread_is_refused():
    """A wait_for method called on the reactor thread is a RuntimeError, as
    for plain functions."""
    @libcrochet.run_in_reactor
    def call_from_reactor():
        try:
            Service.wait_class_over(1)
        except RuntimeError as e:
            return str(e)

    assert "must not be called on the reactor thread" in call_from_reactor().wait(LIMIT)


def test_foreign_function_under_staticmethod():
    """A ctypes foreign function wrapped in staticmethod works (its
    signature too)."""
    libc = ctypes.CDLL(None)
    labs = libc.labs
    labs.argtypes, labs.restype = [ctypes.c_long], ctypes.c_long

    class Native:
        absolute = libcrochet.run_in_reactor(staticmethod(labs))
        wait_absolute = libcrochet.wait_for(LIMIT)(staticmethod(labs))

    assert Native.absolute(-5).wait(LIMIT) == 5
    assert Native().wait_absolute(-7) == 7
    assert len(inspect.signature(Native.absolute).parameters) == 1


def test_bad_functions_inside_descriptors():
    """A classmethod or staticmethod around something that is not callable
    is a TypeError, as for the bare object."""
    for decorate in (libcrochet.run_in_reactor, libcrochet.wait_for(1)):
        with pytest.raises(TypeError):
            decorate(staticmethod(5))
        with pytest.raises(TypeError):
            decorate(classmethod("x"))
