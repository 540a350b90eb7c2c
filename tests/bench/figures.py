"""What the benchmarks share: percentiles of their figures."""


def percentile(values, p):
    """The value p percent of the way up values, nearest rank (p=50: a median that is one of them)."""
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]
