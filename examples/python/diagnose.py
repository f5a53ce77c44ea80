"""When something is slow: what libcrochet says about it (the Python twin of
examples/c/diagnose.c).

One call blocks the reactor thread (fetch_page sleeps, as a blocking DNS
lookup or disk read would); another waits on a Deferred that never fires
(await_reply: a reply that never comes). With the stall warning set low
(0.2 s) the library logs a WARNING naming the blocking call; each
TimeoutError says why (EventualResult.info()); a wait_for timeout also logs
one WARNING; stats() shows the counters. About 1.5 s.

    PKG_CONFIG_PATH=build/stage/lib/pkgconfig PYTHONPATH=bindings/python python3 examples/python/diagnose.py
"""

import logging
import sys
import time

import libcrochet

# The library's records (stall warnings, wait_for timeouts) go to the
# "libcrochet" logger: print them.
handler = logging.StreamHandler(sys.stdout)
handler.setFormatter(logging.Formatter("[log %(levelname)s] %(message)s"))
log = logging.getLogger("libcrochet")
log.addHandler(handler)
log.setLevel(logging.DEBUG)

libcrochet.set_stall_warning(0.2)   # the default is 1 s
libcrochet.setup()
print("stall warning at 0.2 s")


@libcrochet.run_in_reactor
def fetch_page(seconds: float) -> int:
    """Blocks the reactor thread: everything else waits behind it."""
    time.sleep(seconds)
    return 200


@libcrochet.wait_for(timeout=0.1)
def add(a: int, b: int) -> int:
    return a + b


@libcrochet.run_in_reactor
def await_reply() -> libcrochet.Deferred[None]:
    """Returns a Deferred that nothing will ever fire."""
    return libcrochet.Deferred()


@libcrochet.wait_for(timeout=0.2)
def await_reply_for_a_while() -> libcrochet.Deferred[None]:
    return libcrochet.Deferred()


def flush() -> None:
    libcrochet._logging.flush(5.0)   # the records so far have been printed


# 1. A call that blocks the reactor for 0.8 s, and a wait that gives up.
page = fetch_page(0.8)
try:
    page.wait(timeout=0.4)           # the watchdog warns meanwhile
except libcrochet.TimeoutError as e:
    flush()
    print("page.wait(0.4): TimeoutError:", e)
print("  info:", repr(page.info()))

# 2. A call queued behind it: wait_for gives up, and logs why.
try:
    add(1, 2)
except libcrochet.TimeoutError as e:
    flush()
    print("add(1, 2): TimeoutError:", e)

print("fetch_page returned", page.wait(timeout=5))
print("  info:", page.info())
flush()

# 3. A Deferred that never fires: the call is waiting, not running.
reply = await_reply()
try:
    reply.wait(timeout=0.2)          # wait()'s timeout does not log
except libcrochet.TimeoutError as e:
    print("reply.wait(0.2): TimeoutError:", e)
print("  info:", repr(reply.info()))
try:
    await_reply_for_a_while()
except libcrochet.TimeoutError as e:
    flush()
    print("await_reply_for_a_while(): TimeoutError:", e)

# 4. The counters, for a metrics scraper.
s = libcrochet.stats()
print("stats: submitted=%d completed=%d queued=%d waiting=%d max_callback=%.2f s "
      "max_queue_delay=%.2f s" % (s.calls_submitted, s.calls_completed, s.queued, s.waiting,
                                  s.max_callback_seconds, s.max_queue_delay_seconds))
flush()
