"""Checking timeouts and delays given by the caller."""

from __future__ import annotations

import math
import numbers
from typing import Any


def seconds(value: Any, what: str = "timeout", allow_none: bool = True) -> float:
    """A timeout or delay as float seconds (None: no limit, as inf).
    TypeError for a non-number, ValueError for a negative or NaN one."""
    if value is None and allow_none:
        return math.inf
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError("%s must be a number of seconds%s, not %s"
                        % (what, " or None" if allow_none else "", type(value).__name__))
    try:
        t = float(value)
    except OverflowError:
        t = -math.inf if value < 0 else math.inf
    if math.isnan(t) or t < 0:
        raise ValueError("%s must be a non-negative number of seconds, not %r" % (what, value))
    return t


def wait_seconds(value: Any, allow_none: bool = True) -> float:
    """A time to wait for a result, as crochet takes it: seconds (None: no
    limit, as inf); a negative number polls, as 0 does (crochet waits on a
    threading.Event, which treats a negative timeout as 0). TypeError for a
    non-number, ValueError for NaN."""
    if value is None and allow_none:
        return math.inf
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError("timeout must be a number of seconds%s, not %s"
                        % (" or None" if allow_none else "", type(value).__name__))
    try:
        t = float(value)
    except OverflowError:
        return 0.0 if value < 0 else math.inf
    if math.isnan(t):
        raise ValueError("timeout must be a number of seconds, not NaN")
    return t if t > 0 else 0.0
