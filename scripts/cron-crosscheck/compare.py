"""Checks the runs printed by `cargo run -p domain --example cron_dump` against croniter.

Reads JSON lines {expr, tz, start, runs} on stdin and makes two comparisons per line:

1. Exact: croniter enumerates the expression's matches on the *wall clock* (naive local
   times, where it has no daylight-saving logic to differ on), and this script turns those
   into instants with the rule documented in `domain::schedule` (Vixie cron's), written here
   independently with zoneinfo. Our runs must equal these, instant for instant. Any mismatch
   is a disagreement and fails the run.

2. Against croniter's own time-zone mode: every instant where croniter differs must be one of
   the DOCUMENTED_DIFFERENCES below (croniter handles clock changes its own way); anything
   else is a disagreement too.

Prints a sample, the documented differences found, and a summary line; exits 1 on any
disagreement.
"""

import json
import sys
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from croniter import croniter

UTC = timezone.utc

SHORTHANDS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}

# Where croniter's time-zone mode intentionally differs from our rule. Each entry: a reason
# (as in the domain::schedule module docs) and a test deciding whether a differing instant is
# explained by it.
DOCUMENTED_DIFFERENCES = {
    "repeated-hour-fixed-time": (
        "croniter runs a fixed-time job in both passes of a repeated hour; we run it once, in "
        "the first pass (Vixie cron)"
    ),
    "skipped-hour-wildcard": (
        "croniter moves wall-clock times skipped by spring-forward to the end of the gap whenever "
        "the hour field is not `*`; a job whose minute or hour field begins with `*` skips them "
        "here (Vixie cron)"
    ),
    "skipped-hour-full-hour-list": (
        "croniter treats an hour list covering all 24 hours (e.g. `0-23`) like `*` and skips "
        "times in the gap; written without `*` it is a fixed-time job here and runs at the end of "
        "the gap (Vixie cron)"
    ),
}

MAX_MATCHES_PER_LINE = 20_000
# What a run must cover to count: a dump that shrank (fewer expressions, or no line across a
# clock change in some zone that has them) fails instead of passing on less.
MIN_EXPRESSIONS = 640
RUNS_PER_LINE = 10  # as printed by cron_dump


def parse_instant(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def fields_of(expr):
    return SHORTHANDS.get(expr.strip().lower(), expr).split()


def is_wildcard_job(expr):
    minute, hour = fields_of(expr)[:2]
    return minute.startswith("*") or hour.startswith("*")


def wall(instant, tz):
    return instant.astimezone(tz).replace(tzinfo=None)


def instants_showing(naive, tz):
    """All real instants whose wall-clock time in tz is `naive`: none in a gap, two in a repeat."""
    found = set()
    for fold in (0, 1):
        instant = naive.replace(tzinfo=tz, fold=fold).astimezone(UTC)
        if wall(instant, tz) == naive:
            found.add(instant)
    return sorted(found)


def end_of_gap(naive, tz):
    """First instant after the skipped stretch of wall-clock time containing `naive`."""
    # In a gap, fold=1 applies the offset after the change (an instant before it) and fold=0
    # the offset before (an instant after it); bisect for the change between them.
    low = naive.replace(tzinfo=tz, fold=1).astimezone(UTC)
    high = naive.replace(tzinfo=tz, fold=0).astimezone(UTC)
    assert low < high, (naive, tz)
    after_offset = high.astimezone(tz).utcoffset()
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        middle = middle.replace(microsecond=0)
        if middle.astimezone(tz).utcoffset() == after_offset:
            high = middle
        else:
            low = middle
    return high


def is_end_of_gap(instant, tz):
    before = instant - timedelta(seconds=1)
    return wall(instant, tz) - wall(before, tz) > timedelta(seconds=1)


def expected_runs(expr, tz, start, count):
    """Our documented rule applied to croniter's wall-clock matches."""
    wildcard = is_wildcard_job(expr)
    matches = croniter(expr, wall(start, tz) - timedelta(hours=3))
    runs = set()
    for _ in range(MAX_MATCHES_PER_LINE):
        naive = matches.get_next(datetime)
        showing = instants_showing(naive, tz)
        if wildcard:
            candidates = showing
        else:
            candidates = showing[:1] or [end_of_gap(naive, tz)]
        runs.update(c for c in candidates if c > start)
        if len(runs) >= count:
            last_needed = sorted(runs)[count - 1]
            # No later wall-clock match can land before this once the wall clock is three
            # hours past it (no clock in these zones goes back more than that).
            if naive > wall(last_needed, tz) + timedelta(hours=3):
                return sorted(runs)[:count]
    raise RuntimeError(f"no {count} runs within {MAX_MATCHES_PER_LINE} matches: {expr} {tz}")


def has_clock_changes(tz, year):
    """Whether the zone's UTC offset changes during `year` (zoneinfo, not our code, decides)."""
    offsets = {datetime(year, month, 15, tzinfo=UTC).astimezone(tz).utcoffset() for month in range(1, 13)}
    return len(offsets) > 1


def croniter_tz_runs(expr, tz, start, count):
    it = croniter(expr, start.astimezone(tz))
    return [it.get_next(datetime).astimezone(UTC) for _ in range(count)]


def explain(instant, ours_has_it, expr, tz):
    """The documented difference explaining why only one side has `instant`, or None."""
    hour_field = fields_of(expr)[1]
    if not ours_has_it:
        showing = instants_showing(wall(instant, tz), tz)
        if len(showing) == 2 and instant == showing[1] and not is_wildcard_job(expr):
            return "repeated-hour-fixed-time"
        if is_end_of_gap(instant, tz) and is_wildcard_job(expr) and hour_field != "*":
            return "skipped-hour-wildcard"
    elif is_end_of_gap(instant, tz) and not is_wildcard_job(expr):
        hours = croniter.expand(expr)[0][1]
        if hours == ["*"]:
            return "skipped-hour-full-hour-list"
    return None


def main():
    lines = [json.loads(line) for line in sys.stdin if line.strip()]
    expressions = instants = 0
    disagreements = []
    documented = []
    for line in lines:
        expr, tz, start = line["expr"], ZoneInfo(line["tz"]), parse_instant(line["start"])
        ours = [parse_instant(run) for run in line["runs"]]
        expressions += 1
        instants += RUNS_PER_LINE

        expected = expected_runs(expr, tz, start, RUNS_PER_LINE)
        if ours != expected:
            disagreements.append((line, "documented rule on croniter's wall-clock matches", expected))
            continue

        theirs = croniter_tz_runs(expr, tz, start, RUNS_PER_LINE)
        horizon = min(ours[-1], theirs[-1])
        only_ours = {t for t in ours if t <= horizon} - set(theirs)
        only_theirs = {t for t in theirs if t <= horizon} - set(ours)
        unexplained = []
        for instant, ours_has_it in [(t, True) for t in only_ours] + [(t, False) for t in only_theirs]:
            reason = explain(instant, ours_has_it, expr, tz)
            if reason is None:
                unexplained.append(instant)
            else:
                documented.append((reason, line, instant, ours_has_it))
        if unexplained:
            disagreements.append((line, "croniter time-zone mode", theirs))

    crossings_per_zone = {}
    for line in lines:
        tz = ZoneInfo(line["tz"])
        offsets = {parse_instant(t).astimezone(tz).utcoffset() for t in [line["start"], *line["runs"]]}
        crossings_per_zone[line["tz"]] = crossings_per_zone.get(line["tz"], 0) + (len(offsets) > 1)
    crossing = sum(crossings_per_zone.values())
    print(f"{crossing} of {len(lines)} lines have runs across a daylight-saving change")
    coverage = []
    if expressions < MIN_EXPRESSIONS:
        coverage.append(f"only {expressions} expressions were compared; at least {MIN_EXPRESSIONS} are expected")
    for name, n in sorted(crossings_per_zone.items()):
        if n == 0 and has_clock_changes(ZoneInfo(name), parse_instant(lines[0]["start"]).year):
            coverage.append(f"no line in {name} crosses one of its daylight-saving changes")
    print("sample (expression, zone, start -> first runs):")
    for line in lines[:: max(1, len(lines) // 6)][:6]:
        print(f"  {line['expr']!r:28} {line['tz']:20} {line['start']} -> {', '.join(line['runs'][:3])}")

    if documented:
        print("documented differences from croniter's time-zone mode:")
        for key, reason in DOCUMENTED_DIFFERENCES.items():
            cases = [d for d in documented if d[0] == key]
            if cases:
                _, line, instant, ours_has_it = cases[0]
                side = "only we run" if ours_has_it else "only croniter runs"
                print(f"  {len(cases)} x {key}: {reason}")
                print(f"      e.g. {line['expr']!r} in {line['tz']}: {side} "
                      f"{instant.astimezone(ZoneInfo(line['tz'])).isoformat()}")

    for line, against, theirs in disagreements[:20]:
        print(f"DISAGREEMENT ({against}): {line['expr']!r} in {line['tz']} after {line['start']}")
        print(f"  ours:   {line['runs']}")
        print(f"  theirs: {[t.isoformat().replace('+00:00', 'Z') for t in theirs]}")

    for problem in coverage:
        print(f"COVERAGE: {problem}")
    zones_with_changes = sum(1 for name in crossings_per_zone if crossings_per_zone[name] > 0)
    print(
        f"cron cross-check: {expressions} expressions in {len(crossings_per_zone)} zones "
        f"({zones_with_changes} crossed daylight-saving changes), {instants} instants compared, "
        f"{len(disagreements)} disagreements ({len(documented)} documented differences)"
    )
    return 1 if disagreements or coverage else 0


if __name__ == "__main__":
    sys.exit(main())
