"""Stopping, interpreter exit and Ctrl-C, each in a fresh interpreter with a
bounded run time."""

import signal
import time

from helpers import run_python, start_python

# A program's preamble: libcrochet set up, and a way to tell when the main
# thread is blocked inside wait() (in libcrochet's wait loop).
PREAMBLE = """
import os, signal, sys, threading, time
import libcrochet
libcrochet.setup()

def main_thread_waiting():
    frame = sys._current_frames().get(threading.main_thread().ident)
    while frame is not None:
        if frame.f_code.co_name == "_wait_status":
            return True
        frame = frame.f_back
    return False

def interrupt_when_waiting(marks):
    # Sends SIGINT once the main thread is inside wait(); records when.
    deadline = time.monotonic() + 10
    while not main_thread_waiting():
        if time.monotonic() > deadline:
            os._exit(3)
        time.sleep(0.005)
    marks.append(time.monotonic())
    os.kill(os.getpid(), signal.SIGINT)
"""


def check(done, code=0):
    assert done.returncode == code, "exit %d, stdout:\n%s\nstderr:\n%s" % (
        done.returncode, done.stdout, done.stderr)


def test_control_c_interrupts_wait():
    """Ctrl-C interrupts EventualResult.wait() (no timeout) in the main thread
    within 0.2 s."""
    done = run_python(PREAMBLE + """
@libcrochet.run_in_reactor
def never():
    return libcrochet.Deferred()

marks = []
threading.Thread(target=interrupt_when_waiting, args=(marks,), daemon=True).start()
result = never()
try:
    result.wait()
except KeyboardInterrupt:
    print("interrupted after %.3f" % (time.monotonic() - marks[0]))
    sys.exit(23)
""", timeout=30)
    check(done, 23)
    latency = float(done.stdout.split()[-1])
    assert latency < 0.2, done.stdout


def test_control_c_interrupts_wait_for():
    """Ctrl-C interrupts a wait_for-decorated call within 0.2 s and cancels
    the Deferred it was waiting on."""
    done = run_python(PREAMBLE + """
cancelled = threading.Event()

@libcrochet.wait_for(timeout=60)
def never():
    return libcrochet.Deferred(lambda d: cancelled.set())

marks = []
threading.Thread(target=interrupt_when_waiting, args=(marks,), daemon=True).start()
try:
    never()
except KeyboardInterrupt:
    print("interrupted after %.3f" % (time.monotonic() - marks[0]))
    print("cancelled", cancelled.wait(10))
    sys.exit(23)
""", timeout=30)
    check(done, 23)
    lines = done.stdout.split("\n")
    assert float(lines[0].split()[-1]) < 0.2, done.stdout
    assert "cancelled True" in done.stdout


def test_stop_unblocks_waiters():
    """A wait() still blocked when the reactor stops raises ReactorStopped."""
    done = run_python(PREAMBLE + """
@libcrochet.run_in_reactor
def run():
    libcrochet.call_later(0.05, libcrochet.stop)
    return libcrochet.Deferred()

result = run()
try:
    result.wait(timeout=10)
except libcrochet.ReactorStopped:
    sys.exit(23)
""")
    check(done, 23)


def test_stop_unblocks_wait_for():
    """A wait_for call blocked when the reactor stops raises ReactorStopped."""
    done = run_python(PREAMBLE + """
@libcrochet.wait_for(timeout=10)
def run():
    libcrochet.call_later(0.05, libcrochet.stop)
    return libcrochet.Deferred()

try:
    run()
except libcrochet.ReactorStopped:
    sys.exit(23)
""")
    check(done, 23)


def test_stop_unblocks_waiter_in_other_thread():
    """Waiters in other threads get ReactorStopped too."""
    done = run_python(PREAMBLE + """
@libcrochet.run_in_reactor
def never():
    return libcrochet.Deferred()

got = []
def wait():
    try:
        never().wait(10)
    except libcrochet.ReactorStopped:
        got.append("stopped")

t = threading.Thread(target=wait)
t.start()
libcrochet.stop()
t.join(10)
print(got)
""")
    check(done)
    assert "['stopped']" in done.stdout


def test_after_stop():
    """After stop, calls, call_later and call_from_thread raise ReactorStopped;
    stop() again is fine; results that existed keep their values."""
    done = run_python(PREAMBLE + """
@libcrochet.run_in_reactor
def one():
    return 1

first = one()
assert first.wait(10) == 1
libcrochet.stop()
libcrochet.stop()
for attempt in (one, lambda: libcrochet.call_later(0, print),
                lambda: libcrochet.call_from_thread(print),
                lambda: libcrochet.wait_for(1)(one)()):
    try:
        attempt()
    except libcrochet.ReactorStopped:
        print("stopped")
assert first.wait(10) == 1
""")
    check(done)
    assert done.stdout.split() == ["stopped"] * 4


def test_exit_unblocks_blocked_thread():
    """At interpreter exit the reactor stops and a non-daemon thread blocked in
    wait() gets ReactorStopped, so the process exits."""
    done = run_python(PREAMBLE + """
@libcrochet.run_in_reactor
def never():
    return libcrochet.Deferred()

waiting = threading.Event()
def wait():
    result = never()
    waiting.set()
    try:
        result.wait()
    except libcrochet.ReactorStopped:
        print("ReactorStopped in thread", flush=True)

threading.Thread(target=wait).start()
waiting.wait(10)
print("main exits", flush=True)
""", timeout=30)
    check(done)
    assert done.stdout.split("\n")[:2] == ["main exits", "ReactorStopped in thread"]


def test_exit_stops_reactor():
    """Exit stops the reactor: the shutdown runs before exit completes and a
    pending call's result is ReactorStopped (seen from an atexit handler
    registered before setup)."""
    done = run_python("""
import atexit, sys
import libcrochet
results = []

def report():
    try:
        results[0].wait(5)
    except libcrochet.ReactorStopped:
        print("stopped at exit", flush=True)

atexit.register(report)
libcrochet.setup()

@libcrochet.run_in_reactor
def never():
    return libcrochet.Deferred()

results.append(never())
""", timeout=30)
    check(done)
    assert "stopped at exit" in done.stdout


def test_exit_with_pending_unobserved_failures_logs_through_logging():
    """Failures logged by the library just before exit all reach Python
    logging; exit is quick and nothing is written to stderr by the library."""
    done = run_python("""
import logging, sys
logging.basicConfig(stream=sys.stdout, level=logging.ERROR, format="%(name)s|%(message).60s")
import libcrochet
libcrochet.setup()

@libcrochet.run_in_reactor
def fail(i):
    raise ValueError("dropped-%d" % i)

results = [fail(i) for i in range(300)]
libcrochet.wait_for(10)(lambda: None)()
del results
""", timeout=30)
    check(done)
    assert done.stdout.count("libcrochet|Unhandled error in EventualResult") == 300
    assert "libcrochet: ERROR" not in done.stderr


def test_exit_is_quick():
    """A program that used libcrochet exits promptly."""
    start = time.monotonic()
    done = run_python("""
import libcrochet
libcrochet.setup()
assert libcrochet.wait_for(5)(lambda: 42)() == 42
""", timeout=30)
    check(done)
    assert time.monotonic() - start < 5


def test_exit_from_reactor_function():
    """sys.exit inside a reactor function is that call's outcome; the program
    then exits normally."""
    done = run_python(PREAMBLE + """
@libcrochet.wait_for(timeout=10)
def leave():
    sys.exit(5)

try:
    leave()
except SystemExit as e:
    print("code", e.code)
""")
    check(done)
    assert "code 5" in done.stdout


def test_sigint_to_child_process():
    """Ctrl-C sent from outside to a program blocked in a wait_for call ends
    the call with KeyboardInterrupt."""
    proc = start_python(PREAMBLE + """
@libcrochet.wait_for(timeout=60)
def never():
    return libcrochet.Deferred()

def announce():
    deadline = time.monotonic() + 10
    while not main_thread_waiting() and time.monotonic() < deadline:
        time.sleep(0.005)
    print("waiting", flush=True)

threading.Thread(target=announce, daemon=True).start()
try:
    never()
except KeyboardInterrupt:
    print("interrupted", flush=True)
    sys.exit(23)
""")
    try:
        assert proc.stdout.readline().strip() == "waiting"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 23, err
    assert "interrupted" in out


def test_fork_child_gets_fresh_reactor():
    """In a forked child, results inherited from the parent raise
    ReactorStopped, and setup() starts a fresh reactor there."""
    done = run_python(PREAMBLE + """
@libcrochet.run_in_reactor
def never():
    return libcrochet.Deferred()

@libcrochet.run_in_reactor
def where():
    return os.getpid()

inherited = never()
pid = os.fork()
if pid == 0:
    code = 1
    try:
        inherited.wait(5)
    except libcrochet.ReactorStopped:
        libcrochet.setup()
        code = 23 if where().wait(5) == os.getpid() else 2
    os._exit(code)
_, status = os.waitpid(pid, 0)
print("child", os.waitstatus_to_exitcode(status))
print("parent", where().wait(5) == os.getpid())
""")
    check(done)
    assert "child 23" in done.stdout and "parent True" in done.stdout


def test_exit_runs_queued_calls_first():
    """At exit the calls already queued run first, in order (0.2, as
    crochet's reactor drains its queue before stopping); then the reactor
    stops."""
    done = run_python(PREAMBLE + """
@libcrochet.run_in_reactor
def slow():
    time.sleep(0.2)
    print("first", flush=True)

@libcrochet.run_in_reactor
def second():
    print("second", flush=True)

@libcrochet.run_in_reactor
def never():
    return libcrochet.Deferred()

pending = never()
slow()
second()
print("main exits", flush=True)
""", timeout=30)
    check(done)
    assert done.stdout.splitlines() == ["main exits", "first", "second"]


def test_exit_with_objects_the_library_holds():
    """Exit is clean while the library still holds Python objects: values in
    the result store, results and unfired Deferreds alive in module globals,
    a pending timer and calls still queued (their destroy runs at stop, before
    Python finalizes)."""
    done = run_python(PREAMBLE + """
class Value:
    pass

@libcrochet.run_in_reactor
def make():
    return Value()

@libcrochet.run_in_reactor
def unfired():
    d = libcrochet.Deferred(lambda d: None)
    kept.append(d)
    return d

@libcrochet.run_in_reactor
def block():
    time.sleep(0.3)

kept = []
stashed = [make().stash() for _ in range(100)]
alive = [make() for _ in range(100)]
following = [unfired() for _ in range(100)]
timer = libcrochet.call_later(3600, print, "never")
block()
queued = [make() for _ in range(1000)]
print("main exits", flush=True)
""", timeout=30)
    check(done)
    assert done.stdout.splitlines()[0] == "main exits"
    assert "Fatal" not in done.stderr and "Traceback" not in done.stderr, done.stderr
