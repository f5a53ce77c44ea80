"""Checking timeouts and delays given by the caller."""

import math
import numbers


def seconds(value, what="timeout", allow_none=True):
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
        t = math.inf if value > 0 else -math.inf
    if math.isnan(t) or t < 0:
        raise ValueError("%s must be a non-negative number of seconds, not %r" % (what, value))
    return t
