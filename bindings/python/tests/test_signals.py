"""Processes started on the library's threads start with a clean signal mask:
Python ignores SIGPIPE, so the library blocks nothing on its threads, and a
`subprocess` child (vfork, where no atfork handler runs) can be signalled."""

import signal
import subprocess

import libcrochet


def _blocked_signals_of_a_child() -> str:
    out = subprocess.run(["grep", "SigBlk", "/proc/self/status"], capture_output=True, text=True, check=True)
    return out.stdout.split()[1]


def test_subprocess_child_of_the_reactor_thread_blocks_nothing() -> None:
    assert signal.getsignal(signal.SIGPIPE) == signal.SIG_IGN   # Python's default
    mask = libcrochet.wait_for(timeout=10)(_blocked_signals_of_a_child)()
    assert int(mask, 16) == 0, mask


def test_subprocess_child_of_the_reactor_thread_ends_on_sigterm() -> None:
    @libcrochet.wait_for(timeout=20)
    def start_and_terminate() -> int:
        child = subprocess.Popen(["sleep", "30"])
        child.terminate()
        return child.wait(timeout=10)

    assert start_and_terminate() == -signal.SIGTERM


def test_subprocess_child_of_a_worker_blocks_nothing() -> None:
    @libcrochet.wait_for(timeout=10)
    def on_worker() -> "libcrochet.Deferred[str]":
        return libcrochet.defer_to_thread(_blocked_signals_of_a_child)

    assert int(on_worker(), 16) == 0
