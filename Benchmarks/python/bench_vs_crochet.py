#!/usr/bin/env python3
"""libcrochet's Python binding beside crochet (the real one, from PyPI, on
Twisted), the same workloads, in one run (issue 13).

    python3 Benchmarks/python/bench_vs_crochet.py [--quick] [--rounds N]

Run from anywhere; the script finds the repository from its own path, puts
bindings/python on PYTHONPATH for libcrochet's children and takes the staged
library (build/stage/lib, or CROCHET_LIBRARY if set). crochet and Twisted come
from a venv, build/py-bench-venv, made (python3 -m venv + pip install crochet)
when missing; both libraries' children run that venv's interpreter, so the
interpreter is the same.

Each round starts one child process per library (which goes first alternates
from round to round); each child runs every timed workload a few times. A
separate child per library and round measures memory, first thing after
setup. Figures are the medians of all repetitions of all rounds, with their
spread [min .. max]; ratio = libcrochet / crochet.

Workloads (both libraries, the same Python code):
  round trip      @run_in_reactor function returning a constant, .wait(5) back
                  to back from the main thread; us per call
  failure         the same with a function that raises ValueError, .wait()
                  caught; us per call (and failure / round trip)
  wait_for        @wait_for(timeout=5) function returning a constant; us per call
  pipelined       10,000 calls made, then all waited; calls/s
  4 threads       4 threads doing round trips at once; calls/s in total
  memory          RSS growth per pending EventualResult following a Deferred
                  that never fires (the library's Deferred; crochet: Twisted's),
                  N results kept in a list; bytes each
Not part of make test.
"""

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
VENV = os.path.join(ROOT, "build", "py-bench-venv")
VENV_PY = os.path.join(VENV, "bin", "python")
BINDING = os.path.join(ROOT, "bindings", "python")
STAGED_LIB = os.path.join(ROOT, "build", "stage", "lib", "libcrochet.so.0.2")
LIBS = ("libcrochet", "crochet")

FULL = dict(rounds=5, rt_batch=2000, rt_reps=5, fail_batch=1000, fail_reps=5,
            wf_batch=2000, wf_reps=5, pipe_n=10000, pipe_reps=3,
            thr_per=1000, thr_reps=3, mem_n=100000, mem_rounds=3)
QUICK = dict(rounds=3, rt_batch=1000, rt_reps=3, fail_batch=500, fail_reps=3,
             wf_batch=1000, wf_reps=3, pipe_n=10000, pipe_reps=2,
             thr_per=500, thr_reps=2, mem_n=10000, mem_rounds=2)


# ---------------------------------------------------------------- children

def load(which):
    """The library's setup, decorators and Deferred, and its versions."""
    if which == "libcrochet":
        import libcrochet as lib
        lib.setup()
        versions = {"libcrochet": lib.__version__,
                    "library": lib.library_path(), "build": build_id(lib)}
        return lib.run_in_reactor, lib.wait_for, lib.Deferred, versions
    import crochet
    import twisted
    from twisted.internet.defer import Deferred
    crochet.setup()
    versions = {"crochet": crochet.__version__, "twisted": twisted.__version__}
    return crochet.run_in_reactor, crochet.wait_for, Deferred, versions


def build_id(lib):
    """sha1 prefixes of the library file and of the binding's modules: what
    this child ran (another session may restage or edit them mid-run)."""
    import hashlib
    with open(os.path.realpath(lib.library_path()), "rb") as f:
        so = hashlib.sha1(f.read()).hexdigest()[:10]
    h = hashlib.sha1()
    pkg = os.path.dirname(lib.__file__)
    for name in sorted(os.listdir(pkg)):
        if name.endswith(".py"):
            with open(os.path.join(pkg, name), "rb") as f:
                h.update(name.encode() + b"\0" + f.read())
    return "library %s, binding %s" % (so, h.hexdigest()[:10])


def rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def child_work(which, p):
    run_in_reactor, wait_for, _Deferred, versions = load(which)

    @run_in_reactor
    def const():
        return 42

    @run_in_reactor
    def fails():
        raise ValueError("bad")

    @wait_for(timeout=5)
    def const_wf():
        return 42

    for _ in range(300):                       # warm up every path
        const().wait(5)
        const_wf()
        try:
            fails().wait(5)
        except ValueError:
            pass

    out = {"versions": versions}

    def timed(fn, n):
        t0 = time.perf_counter()
        fn(n)
        return time.perf_counter() - t0

    def round_trips(n):
        for _ in range(n):
            const().wait(5)

    def failures(n):
        for _ in range(n):
            try:
                fails().wait(5)
            except ValueError:
                pass

    def wait_fors(n):
        for _ in range(n):
            const_wf()

    def pipelined(n):
        results = [const() for _ in range(n)]
        for r in results:
            r.wait(30)

    def four_threads(per):
        barrier = threading.Barrier(5)

        def worker():
            barrier.wait()
            round_trips(per)
        threads = [threading.Thread(target=worker) for _ in range(4)]
        for t in threads:
            t.start()
        barrier.wait()
        t0 = time.perf_counter()
        for t in threads:
            t.join()
        return time.perf_counter() - t0

    # Interleave the workloads rep by rep, so that a slow moment of the
    # machine does not land on one workload only.
    keys = ("rt_us", "fail_us", "wf_us", "pipe_cps", "thr_cps")
    for k in keys:
        out[k] = []
    reps = max(p["rt_reps"], p["fail_reps"], p["wf_reps"], p["pipe_reps"], p["thr_reps"])
    for i in range(reps):
        if i < p["rt_reps"]:
            out["rt_us"].append(timed(round_trips, p["rt_batch"]) / p["rt_batch"] * 1e6)
        if i < p["fail_reps"]:
            out["fail_us"].append(timed(failures, p["fail_batch"]) / p["fail_batch"] * 1e6)
        if i < p["wf_reps"]:
            out["wf_us"].append(timed(wait_fors, p["wf_batch"]) / p["wf_batch"] * 1e6)
        if i < p["pipe_reps"]:
            out["pipe_cps"].append(p["pipe_n"] / timed(pipelined, p["pipe_n"]))
        if i < p["thr_reps"]:
            out["thr_cps"].append(4 * p["thr_per"] / four_threads(p["thr_per"]))
    return out


def child_memory(which, p):
    run_in_reactor, _wait_for, Deferred, versions = load(which)

    @run_in_reactor
    def pending():
        return Deferred()                      # never fires

    @run_in_reactor
    def const():
        return 42

    for _ in range(200):
        const().wait(5)
    warm = [pending() for _ in range(100)]     # the pending path once, kept
    const().wait(5)
    n = p["mem_n"]
    results = []
    results.extend([None] * n)                 # the list's own 8 B/slot, before
    gc.collect()
    before = rss_bytes()
    for i in range(n):
        results[i] = pending()
    const().wait(60)                           # calls run in order: all ran
    gc.collect()
    after = rss_bytes()
    assert len(warm) == 100 and results[-1] is not None
    return {"versions": versions, "mem_b": [(after - before) / n]}


def child_main(which, kind, params):
    p = json.loads(params)
    out = child_work(which, p) if kind == "work" else child_memory(which, p)
    sys.stdout.write("RESULT " + json.dumps(out) + "\n")
    sys.stdout.flush()
    if kind == "memory":
        os._exit(0)     # skip tearing down 100,000 pending results (not measured)


# ---------------------------------------------------------------- parent

def ensure_venv():
    if os.path.exists(VENV_PY):
        ok = subprocess.run([VENV_PY, "-c", "import crochet, twisted"],
                            capture_output=True).returncode == 0
        if ok:
            return
    print(f"making {VENV} (python3 -m venv; pip install crochet) ...", flush=True)
    if not os.path.exists(VENV_PY):
        subprocess.run([sys.executable, "-m", "venv", VENV], check=True)
    r = subprocess.run([VENV_PY, "-m", "pip", "install", "-q", "crochet"])
    if r.returncode != 0:
        sys.exit("cannot install crochet from PyPI into " + VENV)


def child_env(which):
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    if which == "libcrochet":
        env["PYTHONPATH"] = BINDING
        if not env.get("CROCHET_LIBRARY"):
            env["CROCHET_LIBRARY"] = STAGED_LIB
    return env


def run_child(which, kind, p):
    cmd = [VENV_PY, os.path.abspath(__file__), "--child", which, "--kind", kind,
           "--params", json.dumps(p)]
    r = subprocess.run(cmd, env=child_env(which), capture_output=True, text=True,
                       timeout=120)
    for line in r.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    sys.stderr.write(r.stdout + r.stderr)
    sys.exit(f"{which} {kind} child failed (exit {r.returncode})")


def note_versions(versions, got):
    builds = versions.setdefault("builds", [])
    if "build" in got and got["build"] not in builds:
        builds.append(got.pop("build"))
    got.pop("build", None)
    versions.update(got)


def loadavg():
    return "%.2f %.2f %.2f" % os.getloadavg()


ROWS = [  # key, label, unit, lower is better
    ("rt_us", "round trip (run_in_reactor + wait)", "us/call", True),
    ("fail_us", "failure path (raises, wait() caught)", "us/call", True),
    ("wf_us", "wait_for round trip", "us/call", True),
    ("pipe_cps", "pipelined (10,000 calls, then waits)", "calls/s", False),
    ("thr_cps", "4 threads of round trips", "calls/s", False),
    ("mem_b", "memory per pending result", "bytes", True),
]


def fmt(v):
    if v >= 10000:
        return f"{v:,.0f}"
    if v >= 100:
        return f"{v:.0f}"
    return f"{v:.1f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer rounds and repetitions (about 10 s)")
    ap.add_argument("--rounds", type=int, help="rounds of timed children (default 5, quick 3)")
    ap.add_argument("--child", choices=LIBS, help=argparse.SUPPRESS)
    ap.add_argument("--kind", choices=("work", "memory"), help=argparse.SUPPRESS)
    ap.add_argument("--params", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        return child_main(a.child, a.kind, a.params)

    p = dict(QUICK if a.quick else FULL)
    if a.rounds:
        p["rounds"] = a.rounds
    ensure_venv()
    start = time.monotonic()
    load_start = loadavg()
    git = subprocess.run(["git", "-C", ROOT, "describe", "--always", "--dirty"],
                         capture_output=True, text=True).stdout.strip()
    changed = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--", "Sources",
                              "include", "bindings/python/libcrochet"],
                             capture_output=True, text=True).stdout.splitlines()
    uncommitted = ", ".join(line[3:] for line in changed) or "none"
    py = subprocess.run([VENV_PY, "-c", "import sys; print(sys.version.split()[0])"],
                        capture_output=True, text=True).stdout.strip()

    samples = {lib: {k: [] for k, *_ in ROWS} for lib in LIBS}
    versions = {}
    print(f"libcrochet (Python binding) vs crochet: {'quick' if a.quick else 'full'} run, "
          f"{p['rounds']} rounds of timed children, {p['mem_rounds']} of memory children")
    for r in range(p["rounds"]):
        order = LIBS if r % 2 == 0 else LIBS[::-1]
        line = []
        for lib in order:
            t0 = time.monotonic()
            out = run_child(lib, "work", p)
            note_versions(versions, out.pop("versions"))
            for k, vals in out.items():
                samples[lib][k].extend(vals)
            line.append(f"{lib} rt {statistics.median(out['rt_us']):.1f} us "
                        f"({time.monotonic() - t0:.1f} s)")
        print(f"  round {r + 1}: " + ", ".join(line), flush=True)
    for r in range(p["mem_rounds"]):
        order = LIBS if r % 2 == 0 else LIBS[::-1]
        line = []
        for lib in order:
            out = run_child(lib, "memory", p)
            note_versions(versions, out.pop("versions"))
            samples[lib]["mem_b"].extend(out["mem_b"])
            line.append(f"{lib} {out['mem_b'][0]:.0f} B")
        print(f"  memory round {r + 1} ({p['mem_n']:,} pending): " + ", ".join(line), flush=True)

    print()
    print(f"repository {git}; Python {py}; libcrochet {versions.get('libcrochet')} "
          f"({versions.get('library')}); crochet {versions.get('crochet')}, "
          f"Twisted {versions.get('twisted')}")
    print(f"uncommitted in Sources, include, bindings/python/libcrochet: {uncommitted}")
    builds = versions.get("builds", [])
    print("libcrochet as run: " + "; ".join(builds) + " (sha1 prefixes)")
    if len(builds) > 1:
        print("WARNING: the staged library or the binding changed during the run: "
              "its figures mix builds")
    print(f"load average at start {load_start}, at end {loadavg()}; {os.cpu_count()} CPUs")
    print("median [min .. max] over all repetitions of all rounds; "
          "ratio = libcrochet / crochet (below 1 better for us and bytes, above 1 for calls/s)")
    print()
    w = 40
    print(f"{'figure':<{w}} {'unit':<8} {'libcrochet':>26} {'crochet':>26} {'ratio':>6}")
    med = {}
    for k, label, unit, lower in ROWS:
        cells = []
        for lib in LIBS:
            v = samples[lib][k]
            m = statistics.median(v)
            med[lib, k] = m
            cells.append(f"{fmt(m)} [{fmt(min(v))} .. {fmt(max(v))}]")
        ratio = med["libcrochet", k] / med["crochet", k]
        if 0.95 <= ratio <= 1.05:
            verdict = "within 5%"
        else:
            verdict = ("libcrochet" if (ratio < 1) == lower else "crochet") + " better"
        print(f"{label:<{w}} {unit:<8} {cells[0]:>26} {cells[1]:>26} {ratio:>5.2f}x"
              f"  ({verdict})")
    for lib in LIBS:
        print(f"{lib}: a failing call costs {med[lib, 'fail_us'] / med[lib, 'rt_us']:.1f}x "
              f"a returning one; wait_for {med[lib, 'wf_us'] / med[lib, 'rt_us']:.2f}x "
              f"run_in_reactor + wait")
    print(f"memory: {p['mem_n']:,} pending results, one per child ({p['mem_rounds']} children "
          f"per library); the list's own 8 B a slot is allocated before and not counted")
    print(f"took {time.monotonic() - start:.0f} s")


if __name__ == "__main__":
    main()
