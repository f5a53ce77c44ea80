"""The result store: stash() and retrieve_result() (crochet's ResultStoreTests)."""

import threading

import pytest

import libcrochet
from helpers import LIMIT, deferred_call, run_python


@libcrochet.run_in_reactor
def passthrough(value):
    return value


def test_store_and_retrieve():
    """A stashed EventualResult is retrieved, the very same object, by its id."""
    result, _ = deferred_call()
    uid = result.stash()
    assert isinstance(uid, int) and uid != 0
    assert libcrochet.retrieve_result(uid) is result


def test_retrieve_only_once():
    """Once retrieved, an id can no longer be retrieved."""
    result = passthrough(1)
    uid = result.stash()
    libcrochet.retrieve_result(uid)
    with pytest.raises(KeyError):
        libcrochet.retrieve_result(uid)


@pytest.mark.parametrize("uid", [0, 1, -1, 2 ** 64, 2 ** 64 - 1, 12345678901234567])
def test_unknown_id(uid):
    """An id never stashed is a KeyError."""
    with pytest.raises(KeyError):
        libcrochet.retrieve_result(uid)


@pytest.mark.parametrize("bad", ["1", 1.0, None, True])
def test_id_must_be_an_integer(bad):
    """A non-integer id is a TypeError."""
    with pytest.raises(TypeError):
        libcrochet.retrieve_result(bad)


def test_uniqueness():
    """Every stash() gives a new id, also for the same result."""
    result = passthrough(2)
    ids = [result.stash() for _ in range(100)]
    ids += [passthrough(i).stash() for i in range(100)]
    assert len(set(ids)) == len(ids)
    assert 0 not in ids
    for uid in ids:
        libcrochet.retrieve_result(uid)


def test_retrieved_result_works():
    """A retrieved result gives its value and failure as before."""
    kept = object()
    uid = passthrough(kept).stash()   # only the engine's result holds kept now
    assert libcrochet.retrieve_result(uid).wait(LIMIT) is kept

    @libcrochet.run_in_reactor
    def fail():
        raise ValueError("stashed failure")

    result = fail()
    uid = result.stash()
    with pytest.raises(ValueError, match="stashed failure") as info:
        libcrochet.retrieve_result(uid).wait(LIMIT)
    assert info.value is result.original_failure().value

    # With every Python reference gone, the engine's result (in the store)
    # is all that is left. Its value would still be the very object
    # (callback_owned), but a C failure carries no Python object (0.2 has
    # no owned payload for failures): the failure comes back as CallFailed
    # with the Python traceback text as its message.
    uid = fail().stash()   # the caller's own reference is gone at once
    with pytest.raises(libcrochet.CallFailed, match="ValueError: stashed failure") as info:
        libcrochet.retrieve_result(uid).wait(LIMIT)
    assert info.value.code == -3   # CROCHET_EFAILED


def test_concurrent_retrieve():
    """Of many threads retrieving one id at once, exactly one gets it."""
    for _ in range(20):
        result = passthrough(3)
        uid = result.stash()
        got, missed = [], []
        barrier = threading.Barrier(4)

        def retrieve():
            barrier.wait(LIMIT)
            try:
                got.append(libcrochet.retrieve_result(uid))
            except KeyError:
                missed.append(uid)

        threads = [threading.Thread(target=retrieve) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(LIMIT)
        assert len(got) == 1 and got[0] is result and len(missed) == 3


def test_stashed_by_native_code(native):
    """An id stashed by native code is retrieved as an EventualResult whose
    value comes from the native call."""
    uid = libcrochet.wait_for(timeout=LIMIT)(native.submit_and_stash)(41)
    assert uid != 0
    result = libcrochet.retrieve_result(uid)
    assert result.wait(LIMIT) == 42
    with pytest.raises(KeyError):
        libcrochet.retrieve_result(uid)


def test_log_errors_at_exit():
    """Failures of results still stashed at exit are logged, once each,
    through Python logging with their Python tracebacks (as crochet's
    log_errors does at exit); pending, successful and retrieved ones are not,
    and the library's own exit handler, which runs after Python has
    finalized, writes nothing to stderr."""
    done = run_python("""
        import logging, sys
        logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="%(name)s %(levelname)s %(message)s")
        import libcrochet
        libcrochet.setup()

        @libcrochet.run_in_reactor
        def fail(exc):
            raise exc

        @libcrochet.run_in_reactor
        def ok():
            return 1

        @libcrochet.run_in_reactor
        def pending():
            return libcrochet.Deferred()

        @libcrochet.wait_for(timeout=10)
        def sync():
            pass

        fail(ZeroDivisionError("first-stashed")).stash()
        ok().stash()
        kept = fail(RuntimeError("second-stashed"))
        kept.stash()
        retrieved = fail(KeyError("retrieved-one")).stash()
        never = pending().stash()
        sync()
        assert libcrochet.retrieve_result(retrieved).original_failure() is not None
        print("exiting")
    """)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert out.count("libcrochet ERROR Unhandled error in stashed EventualResult at exit") == 2, out
    assert out.count("ZeroDivisionError: first-stashed") == 1, out
    assert out.count("RuntimeError: second-stashed") == 1, out
    assert out.count(', in fail\n') == 2, out   # the Python traceback
    assert "retrieved-one" not in out + done.stderr
    assert "ReactorStopped" not in out and "ESTOPPED" not in out   # pending: not an error
    assert "libffi" not in out and "#0 " not in out   # no native frames
    assert done.stderr == "", done.stderr   # nothing from the library's exit handler
