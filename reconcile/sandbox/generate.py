"""Deterministic generator of the sandbox organisation (DESIGN.md §9, docs/sandbox-data.md).

``generate(people, seed)`` builds an :class:`~reconcile.sandbox.model.Organisation`: the HR
spreadsheets, the three platforms' data and a ``planted`` table listing every anomaly put in
on purpose. The background data is *clean* by construction and then checked, so that an engine
following DESIGN.md §6 finds exactly the planted anomalies and nothing else.

Why it is built the way it is:
- One ``numpy.random.Generator`` drives everything, and every step draws from it in a fixed
  order: same arguments ⇒ identical frames. Nothing depends on time, ``hash()`` or dict order.
- Activities are first built in one long, numbers-only table (owner, system, title code,
  minutes, local day, minute of day, plant kind...). Strings (ids, titles, e-mails) are made
  only at the end, by vectorised means (lookup tables, Arrow ``take``, byte buffers), so that
  100,000 people and two million activities take seconds, not minutes.
- Background dates lie in [period start + 3 days, as_of − 1 day], local times 07:00–19:00;
  background minutes come from per-template step lists; planted one-off records use minutes
  from a disjoint list, so a planted record can never collide with a background one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from reconcile.errors import ConfigError
from reconcile.sandbox import catalogue as cat
from reconcile.sandbox.model import Organisation

STR = pd.StringDtype("pyarrow")
UTC_NS = "datetime64[ns, UTC]"
NAIVE_NS = "datetime64[ns]"

THRIVE, BRIGHTSPACE, CPD_LOG, COURSEPATH = 0, 1, 2, 3
SYSTEM_NAMES = ("thrive", "brightspace", "cpd_log", "coursepath")

# Plant kinds (index = code in the long tables; -1 = background).
KINDS = (
    "duplicate_activity",
    "unlogged_completion",
    "unmatched_account",
    "case_different_email",
    "draft",
    "out_of_period",
    "future_dated",
    "implausible",
    "platform_total_mismatch",
    "unverified_claim",
    "failed_course_logged",
)
K = {name: i for i, name in enumerate(KINDS)}

# Minutes used only by planted one-off records: disjoint from every background step list.
PLANT_MINUTES = np.array([20, 40, 50, 75, 100, 150, 200, 270])
IMPLAUSIBLE_MINUTES = np.array([0, 1500, 1800, 2880])
OFFSET_MINUTES = np.array([30, 45, 60, 90, 120, 240, -30, -60, -120])

# Background local times of day (minutes after midnight): 07:00 to 19:00 in 15-minute steps.
DAY_START_MIN, DAY_STEPS = 7 * 60, 49
ID_STREAM = 1 << 44  # each id table counts in its own range, so no two share a hex tail
MIN_DAYS_OF_DATA = 10  # background needs [start + 3, as_of - 1] and completions ±3 days in it
DUP_SAFE_DAYS = 3  # background rows sharing owner, title and minutes are at least this far apart

# Share of each plant kind per person (count = max(1, round(people * rate)) for people >= 50).
RATES = {
    "dup_thrive": 0.003,
    "dup_brightspace": 0.003,
    "dup_cross": 0.002,
    "unlogged_thrive": 0.003,
    "unlogged_cp_mapped": 0.001,
    "unlogged_cp": 0.001,
    "unmatched_active": 0.001,
    "unmatched_idle": 0.0005,
    "case_email": 0.002,
    "explicit_ids": 0.003,
    "draft": 0.003,
    "oop": 0.001,
    "future": 0.001,
    "implausible": 0.001,
    "mismatch": 0.002,
    "unverified": 0.003,
    "failed": 0.002,
}


def plant_count(people: int, rate: float) -> int:
    """How many of one plant kind: scales with people, at least one from 50 people up."""
    if people >= 50:
        return max(1, round(people * rate))
    return 1 if people >= 10 else 0


# ---------------------------------------------------------------------------------------
# Vectorised string helpers
# ---------------------------------------------------------------------------------------

_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def _chars_to_series(chars: np.ndarray) -> pd.Series:
    """An (n, width) uint8 matrix of ASCII codes → a string Series, without Python strings."""
    n, width = chars.shape
    offsets = (np.arange(n + 1, dtype=np.int64) * width).astype(np.int64)
    data = np.ascontiguousarray(chars).tobytes()
    arr = pa.LargeStringArray.from_buffers(n, pa.py_buffer(offsets.tobytes()), pa.py_buffer(data))
    return pd.Series(pd.arrays.ArrowStringArray(pa.chunked_array([arr.cast(pa.string())])))


def _scramble(values: np.ndarray, salt: int) -> np.ndarray:
    """A bijection on uint64 so sequential counters look like random ids (and stay unique)."""
    x = values.astype(np.uint64) + np.uint64(salt)
    x = x * np.uint64(0x9E3779B97F4A7C15)
    x ^= x >> np.uint64(29)
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x ^= x >> np.uint64(32)
    return x


def hex_ids(prefix: str, counters: np.ndarray, salt: int) -> pd.Series:
    """24-hex ids (Mongo style): an 8-hex prefix then 16 hex digits of a scrambled counter."""
    pre = np.frombuffer(prefix.encode("ascii"), dtype=np.uint8)
    scrambled = _scramble(counters, salt)
    shifts = np.arange(60, -4, -4, dtype=np.uint64)
    nibbles = ((scrambled[:, None] >> shifts) & np.uint64(15)).astype(np.intp)
    out = np.empty((len(counters), len(pre) + 16), dtype=np.uint8)
    out[:, : len(pre)] = pre
    out[:, len(pre) :] = _HEX[nibbles]
    return _chars_to_series(out)


def digit_ids(numbers: np.ndarray, width: int, prefix: str = "") -> pd.Series:
    """Zero-padded decimal ids ("000123"), built from digit arithmetic, not str formatting."""
    pre = np.frombuffer(prefix.encode("ascii"), dtype=np.uint8)
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    digits = (np.asarray(numbers, dtype=np.int64)[:, None] // powers) % 10 + 48
    out = np.empty((len(numbers), len(pre) + width), dtype=np.uint8)
    out[:, : len(pre)] = pre
    out[:, len(pre) :] = digits
    return _chars_to_series(out)


def _take(vocab: list[str] | tuple[str, ...], codes: np.ndarray) -> pd.Series:
    """Strings by index into a small vocabulary (Arrow take: no per-row Python)."""
    values = pa.array(list(vocab), type=pa.string())
    taken = values.take(pa.array(np.asarray(codes, dtype=np.int64)))
    return pd.Series(pd.arrays.ArrowStringArray(pa.chunked_array([taken])))


def _null_where(series: pd.Series, mask: np.ndarray) -> pd.Series:
    out = series.astype(STR)
    return out.mask(np.asarray(mask, dtype=bool)).reset_index(drop=True)


def normalise_title(titles: pd.Series) -> pd.Series:
    """DESIGN §6.4 title key: case-folded, punctuation removed, repeated spaces collapsed."""
    s = titles.astype(STR).str.casefold()
    s = s.str.replace(r"[^\w\s]", "", regex=True)
    return s.str.replace(r"\s+", " ", regex=True).str.strip()


# ---------------------------------------------------------------------------------------
# Dates
# ---------------------------------------------------------------------------------------


def _day(d: dt.date) -> int:
    return int(np.datetime64(d, "D").astype(np.int64))


def _utc(days: np.ndarray, minutes: np.ndarray, timezone: str) -> pd.Series:
    """Local (day, minute of day) in the organisation's timezone → UTC timestamps (ns)."""
    naive = np.asarray(days, dtype=np.int64).astype("datetime64[D]").astype("datetime64[ns]")
    naive = naive + (np.asarray(minutes, dtype=np.int64) * 60).astype("timedelta64[s]")
    index = pd.DatetimeIndex(naive).tz_localize(
        timezone, ambiguous=np.zeros(len(naive), dtype=bool), nonexistent="shift_forward"
    )
    return pd.Series(index.tz_convert("UTC").as_unit("ns"))


def _naive_dates(days: np.ndarray, missing: np.ndarray | None = None) -> pd.Series:
    values = np.asarray(days, dtype=np.int64).astype("datetime64[D]").astype("datetime64[ns]")
    if missing is not None:
        values[np.asarray(missing)] = np.datetime64("NaT")
    return pd.Series(values)


# ---------------------------------------------------------------------------------------
# Long tables (numbers only until the end)
# ---------------------------------------------------------------------------------------

ACT_FIELDS = (
    "person",  # roster index, or -1 for an account missing from the roster
    "uacct",  # index into the unmatched accounts of that system, or -1
    "system",
    "title",  # index into the title vocabulary
    "variant",  # title typed in another case
    "minutes",
    "day",  # local date, days since 1970-01-01
    "mod",  # local minute of day
    "state",  # 1 published, 2 draft (Brightspace)
    "kind",  # plant kind code or -1
    "orig",  # for a planted duplicate: row of the original, else -1
)
COMP_FIELDS = (
    "person",
    "uacct",
    "system",
    "course",  # index into the unified course list
    "day",
    "mod",
    "completed",
    "success",
    "score",
    "rpl",
    "enrol_lag",  # days between enrolment and completion (or before as_of when in progress)
    "kind",
)


def _rows(fields: tuple[str, ...], n: int, **values: object) -> dict[str, np.ndarray]:
    defaults: dict[str, object] = {
        "uacct": -1,
        "variant": False,
        "state": 1,
        "kind": -1,
        "orig": -1,
        "rpl": False,
    }
    defaults |= {"completed": True, "success": True, "score": np.nan, "enrol_lag": 7}
    out = {}
    for name in fields:
        value = values.get(name, defaults.get(name))
        if value is None:
            raise TypeError(f"missing field {name}")
        out[name] = np.broadcast_to(np.asarray(value), (n,)).copy()
    return out


def _concat(parts: list[dict[str, np.ndarray]], fields: tuple[str, ...]) -> dict:
    return {f: np.concatenate([p[f] for p in parts]) for f in fields}


def _select(table: dict[str, np.ndarray], mask: np.ndarray) -> dict[str, np.ndarray]:
    return {k: v[mask] for k, v in table.items()}


# ---------------------------------------------------------------------------------------
# Vocabularies
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Vocab:
    """Title vocabulary and course catalogue as arrays the vectorised code indexes."""

    titles: list[str]
    variants: list[str]
    n_generic: int
    title_template: np.ndarray  # template index per generic title (-1 for courses)
    title_category: np.ndarray
    title_method: np.ndarray
    title_type: list[str]
    tpl_minutes: np.ndarray  # (templates, max steps), padded with the first step
    tpl_len: np.ndarray
    # unified course list: Thrive contents first, then Coursepath courses
    course_system: np.ndarray
    course_title: np.ndarray  # title code
    course_value: np.ndarray  # CPD minutes (0 = no CPD value)
    course_listed: np.ndarray  # in the policy Courses sheet
    course_category: np.ndarray
    course_external: np.ndarray  # Coursepath course also published in Thrive (write-back)
    n_thrive: int


def _vocab() -> _Vocab:
    titles: list[str] = []
    template: list[int] = []
    for t_index, (prefix, *_rest) in enumerate(cat.TEMPLATES):
        for topic in cat.TOPICS:
            titles.append(f"{prefix}: {topic}")
            template.append(t_index)
    for title, t_index in zip(cat.STANDALONE_TITLES, cat.STANDALONE_TEMPLATE, strict=True):
        titles.append(title)
        template.append(t_index)
    n_generic = len(titles)
    category = [cat.TEMPLATES[t][2] for t in template]
    method = [cat.TEMPLATES[t][3] for t in template]
    types = [cat.TEMPLATES[t][1] for t in template]

    course_system, course_title, course_value, course_listed = [], [], [], []
    course_category, course_external = [], []
    for title, _type, duration, category_index, listed in cat.THRIVE_CONTENTS:
        course_system.append(THRIVE)
        course_title.append(len(titles))
        titles.append(title)
        course_value.append(listed if listed is not None else duration)
        course_listed.append(listed is not None)
        course_category.append(category_index)
        course_external.append(False)
    n_thrive = len(cat.THRIVE_CONTENTS)
    for name, category_index, minutes, external in cat.COURSEPATH_COURSES:
        course_system.append(COURSEPATH)
        course_title.append(len(titles))
        titles.append(name)
        course_value.append(minutes or 0)
        course_listed.append(minutes is not None)
        course_category.append(category_index)
        course_external.append(external)
    for code in course_title:
        category.append(course_category[course_title.index(code)])
        method.append(0)
        types.append("Course")
        template.append(-1)

    variants = [t.upper() if i % 2 else t.lower() for i, t in enumerate(titles)]
    steps = [t[4] for t in cat.TEMPLATES]
    width = max(len(s) for s in steps)
    tpl_minutes = np.array([list(s) + [s[0]] * (width - len(s)) for s in steps])
    return _Vocab(
        titles=titles,
        variants=variants,
        n_generic=n_generic,
        title_template=np.array(template),
        title_category=np.array(category),
        title_method=np.array(method),
        title_type=types,
        tpl_minutes=tpl_minutes,
        tpl_len=np.array([len(s) for s in steps]),
        course_system=np.array(course_system),
        course_title=np.array(course_title),
        course_value=np.array(course_value, dtype=np.int64),
        course_listed=np.array(course_listed),
        course_category=np.array(course_category),
        course_external=np.array(course_external),
        n_thrive=n_thrive,
    )


# ---------------------------------------------------------------------------------------
# The generator
# ---------------------------------------------------------------------------------------


@dataclass
class _People:
    """Per-person arrays of the roster (index = roster row before sorting)."""

    n: int
    number: np.ndarray
    first: np.ndarray
    last: np.ndarray
    dup_rank: np.ndarray
    dept: np.ndarray
    manager: np.ndarray  # roster index or -1
    aud1: np.ndarray
    aud2: np.ndarray  # -1 = none
    roster_aud: np.ndarray  # audiences written in the roster
    start: np.ndarray  # local day numbers
    leave: np.ndarray  # local day number or -1
    fte: np.ndarray
    exempt: np.ndarray
    exempt_reason: np.ndarray
    has_t: np.ndarray
    has_b: np.ndarray
    has_c: np.ndarray
    ref_t: np.ndarray  # Thrive ref = employee id
    ref_b: np.ndarray
    ref_c: np.ndarray
    case_email: np.ndarray  # roster e-mail typed with capitals, accounts lower-case, no refs
    explicit: np.ndarray  # roster carries explicit ids, accounts use a personal e-mail


class _Picker:
    """Hands out distinct people for plants, in one seeded random order."""

    def __init__(self, rng: np.random.Generator, n: int, eligible: np.ndarray) -> None:
        self.order = rng.permutation(n)
        self.used = ~eligible.copy()

    def pick(self, mask: np.ndarray, count: int) -> np.ndarray:
        ok = mask[self.order] & ~self.used[self.order]
        chosen = self.order[ok][:count]
        self.used[chosen] = True
        return np.sort(chosen)


class _Generator:
    """Draws the organisation as numbers: people, long activity/completion tables, plants.

    Every method draws from ``self.rng`` and ``run`` calls them in a fixed order, which is
    what makes the output a pure function of the arguments.
    """

    def __init__(
        self,
        people: int,
        seed: int,
        period_start: dt.date,
        period_end: dt.date,
        as_of: dt.date,
        timezone: str,
        activities_per_person: float,
        completions_per_person: float,
    ) -> None:
        self.n = people
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self.tz = timezone
        self.start, self.end, self.as_of = _day(period_start), _day(period_end), _day(as_of)
        self.dates = (period_start, period_end, as_of)
        self.lo = self.start + 3
        self.hi = max(self.lo, min(self.end, self.as_of) - 1)
        self.app = activities_per_person
        self.cpp = completions_per_person
        self.v = _vocab()
        self.salt = int(self.rng.integers(0, 2**40))

    def count(self, key: str) -> int:
        return plant_count(self.n, RATES[key])

    def days(self, size: int, lo: int | None = None, hi: int | None = None) -> np.ndarray:
        lo = self.lo if lo is None else lo
        hi = self.hi if hi is None else max(lo, hi)
        return self.rng.integers(lo, hi + 1, size)

    def share(self, n: int, rate: float, among: np.ndarray | None = None) -> np.ndarray:
        """Exactly round(n × rate) people (at least one from 20 people up), chosen at random."""
        pool = np.arange(n) if among is None else np.flatnonzero(among)
        count = max(1, round(n * rate)) if n >= 20 else round(n * rate)
        mask = np.zeros(n, dtype=bool)
        mask[self.rng.choice(pool, size=min(count, len(pool)), replace=False)] = True
        return mask

    def mods(self, size: int) -> np.ndarray:
        return DAY_START_MIN + 15 * self.rng.integers(0, DAY_STEPS, size)

    # -- people ------------------------------------------------------------------------

    def people(self) -> _People:
        rng, n = self.rng, self.n
        number = np.sort(rng.choice(899_999, size=n, replace=False) + 1)
        first = rng.integers(0, len(cat.FIRST_NAMES), n)
        last = rng.integers(0, len(cat.LAST_NAMES), n)
        name_key = first * len(cat.LAST_NAMES) + last
        dup_rank = pd.Series(name_key).groupby(name_key).cumcount().to_numpy()

        n_dept = int(np.clip(round(n / 15), 10, len(cat.DEPARTMENTS)))
        dept_choice = rng.choice(len(cat.DEPARTMENTS), size=n_dept, replace=False)
        weights = rng.gamma(2.0, 1.0, n_dept)
        dept = dept_choice[rng.choice(n_dept, size=n, p=weights / weights.sum())]
        seeded = rng.permutation(n)[: min(n, n_dept)]  # every chosen department has someone
        dept[seeded] = dept_choice[: len(seeded)]
        manager = self._hierarchy(dept)

        usual = np.array([a for _d, a in cat.DEPARTMENTS])[dept]
        clinical = 7
        aud1 = np.where(rng.random(n) < 0.85, usual, rng.integers(0, clinical, n))
        second = rng.integers(0, clinical, n)
        aud2 = np.where((rng.random(n) < 0.1) & (second != aud1), second, -1)
        roster_aud = rng.random(n) < 0.7

        start = rng.integers(_day(dt.date(2001, 1, 1)), self.start, n)
        joiner = self.share(n, 0.08)
        start = np.where(joiner, self.days(n, self.start + 1, self.as_of), start)
        leaver = self.share(n, 0.04, among=~joiner)
        leave_day = self.days(n, self.start + 30, self.end)
        leave = np.where(leaver & (leave_day > start), leave_day, -1)

        fte_steps = np.array([0.4, 0.5, 0.6, 0.75, 0.8, 0.9])
        fte = np.where(rng.random(n) < 0.8, 1.0, fte_steps[rng.integers(0, 6, n)])
        exempt = self.share(n, 0.01)
        exempt_reason = rng.integers(0, len(cat.EXEMPT_REASONS), n)

        has_t = rng.random(n) < 0.92
        has_b = rng.random(n) < 0.6
        has_c = rng.random(n) < 0.3
        has_t |= ~(has_t | has_b)
        return _People(
            n=n,
            number=number,
            first=first,
            last=last,
            dup_rank=dup_rank,
            dept=dept,
            manager=manager,
            aud1=aud1,
            aud2=aud2,
            roster_aud=roster_aud,
            start=start,
            leave=leave,
            fte=fte,
            exempt=exempt,
            exempt_reason=exempt_reason,
            has_t=has_t,
            has_b=has_b,
            has_c=has_c,
            ref_t=rng.random(n) < 0.9,
            ref_b=rng.random(n) < 0.88,
            ref_c=rng.random(n) < 0.5,
            case_email=np.zeros(n, dtype=bool),
            explicit=np.zeros(n, dtype=bool),
        )

    def _hierarchy(self, dept: np.ndarray) -> np.ndarray:
        """Manager of each person: a tree per department under one chief executive.

        In each department people are put in a random order; node j gets c_j ∈ [3, 15]
        report slots, filled by the following people in that order (breadth first), so a
        manager always comes before their reports and no loop can form.
        """
        rng, n = self.rng, len(dept)
        manager = np.full(n, -1)
        if n < 2:
            return manager
        chief = int(rng.integers(0, n))
        others = np.delete(np.arange(n), chief)
        order = others[np.lexsort((rng.random(len(others)), dept[others]))]
        d = dept[order]
        rank = pd.Series(d).groupby(d).cumcount().to_numpy()
        slots = rng.integers(3, 16, len(order))
        inclusive = pd.Series(slots).groupby(d).cumsum().to_numpy()
        big = 16 * n + 1
        keys = d.astype(np.int64) * big + inclusive
        query = d.astype(np.int64) * big + (rank - 1)
        boss = np.searchsorted(keys, query, side="right")
        manager[order] = np.where(rank == 0, chief, order[np.minimum(boss, len(order) - 1)])
        return manager

    # -- completions and the activities that log them ----------------------------------

    def course_order(self, p: _People) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per person, the courses they can take in a random order (unavailable ones last)."""
        v = self.v
        is_thrive = v.course_system == THRIVE
        avail = np.where(is_thrive[None, :], p.has_t[:, None], p.has_c[:, None])
        keys = self.rng.random(avail.shape)
        keys[~avail] = 2.0
        order = np.argsort(keys, axis=1, kind="stable")
        return order, avail.sum(axis=1), avail

    def background(self, p: _People) -> tuple[dict, dict, np.ndarray, np.ndarray]:
        rng, v, n = self.rng, self.v, self.n
        order, n_avail, self.avail = self.course_order(p)
        k = np.minimum(rng.poisson(self.cpp, n), np.maximum(n_avail - 3, 0))
        pi, pj = np.nonzero(np.arange(order.shape[1])[None, :] < k[:, None])
        course = order[pi, pj]
        m = len(pi)
        system = v.course_system[course]
        u = rng.random(m)
        in_progress = (system == COURSEPATH) & (u >= 0.92)
        failed = (system == COURSEPATH) & (u >= 0.85) & ~in_progress
        passed = ~in_progress & ~failed
        score = np.where(
            system == COURSEPATH,
            np.where(passed, rng.integers(70, 101, m), rng.integers(20, 70, m)).astype(float),
            np.nan,
        )
        score[in_progress] = np.nan
        day = self.employed_days(pi, p, margin=3)
        comps = _rows(
            COMP_FIELDS,
            m,
            person=pi,
            system=system,
            course=course,
            day=day,
            mod=self.mods(m),
            completed=~in_progress,
            success=passed,
            score=score,
            rpl=(system == THRIVE) & (rng.random(m) < 0.03),
            enrol_lag=rng.integers(1, 60, m),
        )
        # A passed completion of a course with CPD value is logged as an activity (matched).
        logged = passed & (v.course_value[course] > 0)
        who = pi[logged]
        n_logged = int(logged.sum())
        in_thrive = p.has_t[who] & (~p.has_b[who] | (rng.random(n_logged) < 0.6))
        a_day = np.clip(day[logged] + rng.integers(-3, 4, n_logged), self.lo, self.hi)
        matched = _rows(
            ACT_FIELDS,
            n_logged,
            person=who,
            system=np.where(in_thrive, THRIVE, BRIGHTSPACE),
            title=v.course_title[course[logged]],
            variant=rng.random(n_logged) < 0.25,
            minutes=v.course_value[course[logged]],
            day=a_day,
            mod=self.mods(n_logged),
        )
        matched_per_person = np.bincount(who, minlength=n)

        total = rng.poisson(self.app, n)
        n_generic = np.maximum(total - matched_per_person, 0)
        generic = self.generic_activities(np.repeat(np.arange(n), n_generic), p)
        log = self.cpd_log_rows(p)
        return _concat([matched, generic, log], ACT_FIELDS), comps, order, k

    def generic_activities(self, owner: np.ndarray, p: _People | None) -> dict:
        rng, v = self.rng, self.v
        m = len(owner)
        title = rng.integers(0, v.n_generic, m)
        if p is not None:
            both = p.has_t[owner] & p.has_b[owner]
            system = np.where(both, np.where(rng.random(m) < 0.55, THRIVE, BRIGHTSPACE), 0)
            system = np.where(both, system, np.where(p.has_t[owner], THRIVE, BRIGHTSPACE))
        else:
            system = np.zeros(m, dtype=np.int64)
        return _rows(
            ACT_FIELDS,
            m,
            person=owner,
            system=system,
            title=title,
            minutes=self.template_minutes(title),
            day=self.days(m) if p is None else self.employed_days(owner, p),
            mod=self.mods(m),
        )

    def employed_days(self, owner: np.ndarray, p: _People, margin: int = 0) -> np.ndarray:
        """Local days inside the person's employment within the background range.

        Joiners and leavers do CPD while employed; when that leaves under a week of the
        range (a joiner a few days before as_of) the whole range is used instead.
        """
        lo = np.maximum(self.lo, p.start[owner]) + margin
        leave = np.where(p.leave[owner] >= 0, p.leave[owner], self.hi)
        hi = np.minimum(self.hi, leave) - margin
        narrow = hi - lo < 7
        lo = np.where(narrow, self.lo + margin, lo)
        hi = np.where(narrow, max(self.lo + margin, self.hi - margin), hi)
        return lo + (self.rng.random(len(owner)) * (hi - lo + 1)).astype(np.int64)

    def template_minutes(self, title: np.ndarray) -> np.ndarray:
        v = self.v
        tpl = v.title_template[title]
        step = (self.rng.random(len(title)) * v.tpl_len[tpl]).astype(np.int64)
        return v.tpl_minutes[tpl, step]

    def cpd_log_rows(self, p: _People) -> dict:
        """External CPD kept in a spreadsheet by a small share of people."""
        rng, v = self.rng, self.v
        keeps = np.flatnonzero(rng.random(self.n) < 0.05)
        owner = np.repeat(keeps, rng.integers(1, 5, len(keeps)))
        external = np.flatnonzero(np.isin(v.title_template[: v.n_generic], [1, 2, 3, 10]))
        title = external[rng.integers(0, len(external), len(owner))]
        m = len(owner)
        return _rows(
            ACT_FIELDS,
            m,
            person=owner,
            system=CPD_LOG,
            title=title,
            minutes=self.template_minutes(title),
            day=self.employed_days(owner, p),
            mod=12 * 60,
        )

    # -- cleanliness ------------------------------------------------------------------

    def drop_accidental_duplicates(self, acts: dict) -> dict:
        """Drop background rows that would look like duplicates (DESIGN §6.4) of another.

        Rows sharing owner, title and minutes must be at least DUP_SAFE_DAYS apart; title
        codes stand for normalised titles (the vocabulary's normal forms are distinct). One
        pass suffices: a kept row is far from its predecessor, dropped or not.
        """
        owner = np.where(
            acts["person"] >= 0, acts["person"], -2 - acts["uacct"] * 4 - acts["system"]
        )
        key_order = np.lexsort((acts["day"], acts["minutes"], acts["title"], owner))
        o, t, mi, d = (
            owner[key_order],
            acts["title"][key_order],
            acts["minutes"][key_order],
            acts["day"][key_order],
        )
        same = np.zeros(len(o), dtype=bool)
        same[1:] = (o[1:] == o[:-1]) & (t[1:] == t[:-1]) & (mi[1:] == mi[:-1])
        close = np.zeros(len(o), dtype=bool)
        close[1:] = (d[1:] - d[:-1]) < DUP_SAFE_DAYS
        drop = np.zeros(len(o), dtype=bool)
        drop[key_order] = same & close
        drop &= acts["title"] < self.v.n_generic
        return _select(acts, ~drop)

    # -- accounts missing from the roster ----------------------------------------------

    def unmatched(self) -> tuple[dict[int, int], dict, dict]:
        """Accounts in each platform that match nobody; the first ones have activity."""
        rng, v = self.rng, self.v
        active, idle = self.count("unmatched_active"), self.count("unmatched_idle")
        sizes = {THRIVE: active + idle, BRIGHTSPACE: active + idle, COURSEPATH: active + idle}
        parts = []
        for system in (THRIVE, BRIGHTSPACE):
            owner = np.repeat(np.arange(active), rng.integers(2, 6, active))
            rows = self.generic_activities(np.full(len(owner), -1), None)
            rows["uacct"] = owner
            rows["system"][:] = system
            parts.append(rows)
        acts = _concat(parts, ACT_FIELDS)
        cp_courses = np.flatnonzero((v.course_system == COURSEPATH) & (v.course_value > 0))
        comps = _rows(
            COMP_FIELDS,
            active,
            person=-1,
            uacct=np.arange(active),
            system=COURSEPATH,
            course=cp_courses[rng.integers(0, len(cp_courses), active)],
            day=self.days(active, self.lo + 3, self.hi - 3),
            mod=self.mods(active),
            score=rng.integers(70, 101, active).astype(float),
        )
        return sizes, acts, comps

    # -- plants ------------------------------------------------------------------------

    def pick_identity_cases(self, p: _People, picker: _Picker) -> None:
        """Benign identity cases: case-different e-mails and explicit roster account ids."""
        case = picker.pick(p.has_t, self.count("case_email"))
        p.case_email[case] = True
        p.ref_t[case] = p.ref_b[case] = p.ref_c[case] = False
        explicit = picker.pick(np.ones(self.n, dtype=bool), self.count("explicit_ids"))
        p.explicit[explicit] = True
        p.ref_t[explicit] = p.ref_b[explicit] = p.ref_c[explicit] = False

    def first_generic_rows(self, acts: dict, persons: np.ndarray, system: int) -> np.ndarray:
        mask = (
            (acts["system"] == system)
            & (acts["title"] < self.v.n_generic)
            & (acts["kind"] == -1)
            & np.isin(acts["person"], persons)
        )
        rows = np.flatnonzero(mask)
        rows = rows[np.argsort(acts["person"][rows], kind="stable")]
        _, first = np.unique(acts["person"][rows], return_index=True)
        return rows[first]

    def duplicate_copies(self, acts: dict, rows: np.ndarray, system: int) -> dict:
        """Copies of background rows: same owner, title (other case), minutes, within a day."""
        m = len(rows)
        next_day = self.rng.random(m) < 0.5
        return _rows(
            ACT_FIELDS,
            m,
            person=acts["person"][rows],
            system=system,
            title=acts["title"][rows],
            variant=~acts["variant"][rows],
            minutes=acts["minutes"][rows],
            day=acts["day"][rows] + next_day,
            mod=np.where(next_day, acts["mod"][rows] - 120, acts["mod"][rows] + 90),
            kind=K["duplicate_activity"],
            orig=rows,
        )

    def has_spare(self, order: np.ndarray, k: np.ndarray, want: np.ndarray) -> np.ndarray:
        """Per person: is there an available, not yet completed course among ``want``?"""
        unused = np.arange(order.shape[1])[None, :] >= k[:, None]
        return (unused & np.take_along_axis(self.avail, order, axis=1) & want[order]).any(axis=1)

    def spare_courses(
        self, persons: np.ndarray, order: np.ndarray, k: np.ndarray, want: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """For each person, an available course they have not completed, among ``want``."""
        if len(persons) == 0:
            return persons, persons
        rows = order[persons]
        unused = np.arange(order.shape[1])[None, :] >= k[persons][:, None]
        valid = unused & self.avail[persons[:, None], rows] & want[rows]
        has = valid.any(axis=1)
        first = valid.argmax(axis=1)
        return persons[has], rows[np.arange(len(persons)), first][has]

    def one_off(
        self,
        persons: np.ndarray,
        system: int,
        kind: str,
        *,
        day=None,
        mod=None,
        minutes=None,
        state: int = 1,
    ) -> dict:
        """Planted single activities with generic titles and plant-only minutes."""
        m = len(persons)
        v = self.v
        if system == CPD_LOG:
            pool = np.flatnonzero(np.isin(v.title_template[: v.n_generic], [1, 2, 3, 10]))
            title = pool[self.rng.integers(0, len(pool), m)]
        else:
            title = self.rng.integers(0, v.n_generic, m)
        if minutes is None:
            minutes = PLANT_MINUTES[self.rng.integers(0, len(PLANT_MINUTES), m)]
        return _rows(
            ACT_FIELDS,
            m,
            person=persons,
            system=system,
            title=title,
            minutes=minutes,
            day=self.days(m) if day is None else day,
            mod=self.mods(m) if mod is None else mod,
            state=state,
            kind=K[kind],
        )

    def plant(
        self,
        p: _People,
        picker: _Picker,
        acts: dict,
        comps: dict,
        order: np.ndarray,
        k: np.ndarray,
    ) -> tuple[dict, dict, dict[int, tuple[np.ndarray, np.ndarray]]]:
        rng, v, n = self.rng, self.v, self.n
        new_acts: list[dict] = [acts]
        new_comps: list[dict] = [comps]
        generic = (acts["title"] < v.n_generic) & (acts["person"] >= 0)
        per_system = {
            s: np.bincount(acts["person"][generic & (acts["system"] == s)], minlength=n)
            for s in (THRIVE, BRIGHTSPACE)
        }
        # duplicates: within Thrive, within Brightspace, and Thrive → Brightspace
        for key, source, target, mask in (
            ("dup_thrive", THRIVE, THRIVE, per_system[THRIVE] > 0),
            ("dup_brightspace", BRIGHTSPACE, BRIGHTSPACE, per_system[BRIGHTSPACE] > 0),
            ("dup_cross", THRIVE, BRIGHTSPACE, (per_system[THRIVE] > 0) & p.has_b),
        ):
            persons = picker.pick(mask, self.count(key))
            rows = self.first_generic_rows(acts, persons, source)
            new_acts.append(self.duplicate_copies(acts, rows, target))

        # unlogged completions: Thrive content, Coursepath course mapped to Thrive, other
        thrive_value = (v.course_system == THRIVE) & (v.course_value > 0)
        cp_value = (v.course_system == COURSEPATH) & (v.course_value > 0)
        for key, mask, want in (
            ("unlogged_thrive", p.has_t, thrive_value),
            ("unlogged_cp_mapped", p.has_c, cp_value & v.course_external),
            ("unlogged_cp", p.has_c, cp_value & ~v.course_external),
        ):
            persons = picker.pick(mask & self.has_spare(order, k, want), self.count(key))
            persons, course = self.spare_courses(persons, order, k, want)
            new_comps.append(self.plant_completion(persons, course, "unlogged_completion"))

        # drafts, out of period, future dated, implausible minutes
        new_acts.append(
            self.one_off(picker.pick(p.has_b, self.count("draft")), BRIGHTSPACE, "draft", state=2)
        )
        new_acts.extend(self.out_of_period(p, picker))
        persons, course = self.spare_courses(
            picker.pick(p.has_c & self.has_spare(order, k, cp_value), self.count("oop")),
            order,
            k,
            cp_value,
        )
        new_comps.append(
            self.plant_completion(persons, course, "out_of_period", day=self.start - 1, mod=23 * 60)
        )
        future_lo, future_hi = self.as_of + 3, self.end - 1
        if future_lo <= future_hi:
            for system, mask in ((THRIVE, p.has_t), (BRIGHTSPACE, p.has_b), (CPD_LOG, True)):
                persons = picker.pick(np.broadcast_to(mask, (n,)), self.count("future"))
                day = self.days(len(persons), future_lo, future_hi)
                new_acts.append(self.one_off(persons, system, "future_dated", day=day))
        for system, mask, pool in (
            (THRIVE, p.has_t, IMPLAUSIBLE_MINUTES),
            (BRIGHTSPACE, p.has_b, IMPLAUSIBLE_MINUTES),
            (CPD_LOG, np.ones(n, dtype=bool), IMPLAUSIBLE_MINUTES[1:]),
        ):
            persons = picker.pick(mask, self.count("implausible"))
            minutes = pool[rng.integers(0, len(pool), len(persons))]
            new_acts.append(self.one_off(persons, system, "implausible", minutes=minutes))

        # activities that claim catalogue courses
        new_acts.append(self.unverified_claims(p, picker, comps))
        want = cp_value & v.course_listed
        persons, course = self.spare_courses(
            picker.pick(p.has_c & self.has_spare(order, k, want), self.count("failed")),
            order,
            k,
            want,
        )
        failed = self.plant_completion(persons, course, "", success=False)
        new_comps.append(failed)
        new_acts.append(
            self.logged_courses(p, persons, course, failed["day"], "failed_course_logged")
        )

        # platform totals that disagree
        has_entries = (
            np.bincount(
                acts["person"][(acts["system"] == THRIVE) & (acts["person"] >= 0)], minlength=n
            )
            > 0
        )
        offsets = {}
        for system, mask in ((THRIVE, has_entries), (BRIGHTSPACE, p.has_b)):
            persons = picker.pick(mask, self.count("mismatch"))
            offset = OFFSET_MINUTES[rng.integers(0, len(OFFSET_MINUTES), len(persons))]
            offsets[system] = (persons, offset)
        return _concat(new_acts, ACT_FIELDS), _concat(new_comps, COMP_FIELDS), offsets

    def out_of_period(self, p: _People, picker: _Picker) -> list[dict]:
        """Out-of-period records the loaders still fetch (within a day of the period).

        Thrive: 22:00 local on the day before the period (2026-01-01T03:00Z in New York:
        the UTC date is inside, the local date outside). Brightspace: 01:00 local on the day
        after. CPD log: the day before. Platform summaries are asked for the exact local
        period instants, so none of these changes a platform total.
        """
        n = self.n
        count = self.count("oop")
        return [
            self.one_off(
                picker.pick(p.has_t, count),
                THRIVE,
                "out_of_period",
                day=self.start - 1,
                mod=22 * 60,
            ),
            self.one_off(
                picker.pick(p.has_b, count), BRIGHTSPACE, "out_of_period", day=self.end + 1, mod=60
            ),
            self.one_off(
                picker.pick(np.ones(n, dtype=bool), count),
                CPD_LOG,
                "out_of_period",
                day=self.start - 1,
                mod=12 * 60,
            ),
        ]

    def plant_completion(
        self,
        persons: np.ndarray,
        course: np.ndarray,
        kind: str,
        *,
        day=None,
        mod=None,
        success: bool = True,
    ) -> dict:
        m = len(persons)
        system = self.v.course_system[course]
        score = np.where(
            system == COURSEPATH,
            self.rng.integers(70, 101, m) if success else self.rng.integers(30, 66, m),
            np.nan,
        ).astype(float)
        return _rows(
            COMP_FIELDS,
            m,
            person=persons,
            system=system,
            course=course,
            day=self.days(m, self.lo + 3, self.hi - 3) if day is None else day,
            mod=self.mods(m) if mod is None else mod,
            success=success,
            score=score,
            enrol_lag=self.rng.integers(1, 60, m),
            kind=K[kind] if kind else -1,
        )

    def logged_courses(
        self, p: _People, persons: np.ndarray, course: np.ndarray, day: np.ndarray, kind: str
    ) -> dict:
        m = len(persons)
        v = self.v
        return _rows(
            ACT_FIELDS,
            m,
            person=persons,
            system=np.where(p.has_t[persons], THRIVE, BRIGHTSPACE),
            title=v.course_title[course],
            variant=self.rng.random(m) < 0.5,
            minutes=v.course_value[course],
            day=np.clip(day + self.rng.integers(0, 4, m), self.lo, self.hi),
            mod=self.mods(m),
            kind=K[kind],
        )

    def unverified_claims(self, p: _People, picker: _Picker, comps: dict) -> dict:
        """Activities titled as a catalogue course the person never completed anywhere."""
        v = self.v
        persons = picker.pick(np.ones(self.n, dtype=bool), self.count("unverified"))
        listed = np.flatnonzero(v.course_listed)
        candidates = listed[self.rng.integers(0, len(listed), (len(persons), 8))]
        n_courses = len(v.course_system)
        done = (
            comps["person"][comps["person"] >= 0] * n_courses
            + comps["course"][comps["person"] >= 0]
        )
        fresh = ~np.isin(persons[:, None] * n_courses + candidates, done)
        has = fresh.any(axis=1)
        course = candidates[np.arange(len(persons)), fresh.argmax(axis=1)][has]
        persons = persons[has]
        return self.logged_courses(p, persons, course, self.days(len(persons)), "unverified_claim")

    # -- run ---------------------------------------------------------------------------

    def run(self) -> Organisation:
        p = self.people()
        picker = _Picker(self.rng, self.n, ~p.exempt)
        self.pick_identity_cases(p, picker)
        acts, comps, order, k = self.background(p)
        sizes, u_acts, u_comps = self.unmatched()
        acts = self.drop_accidental_duplicates(_concat([acts, u_acts], ACT_FIELDS))
        comps = _concat([comps, u_comps], COMP_FIELDS)
        acts, comps, offsets = self.plant(p, picker, acts, comps, order, k)
        return _Assembler(self, p, acts, comps, offsets, sizes).organisation()


# ---------------------------------------------------------------------------------------
# Assembly: long tables → the frames of model.py
# ---------------------------------------------------------------------------------------


def _frame(columns: dict[str, object]) -> pd.DataFrame:
    """A frame from columns (Series or arrays), positional, with a fresh RangeIndex."""
    return pd.DataFrame(
        {
            name: (col.reset_index(drop=True) if isinstance(col, pd.Series) else col)
            for name, col in columns.items()
        }
    )


class _Accounts:
    """One platform's accounts: people who have one, then the unmatched extras."""

    def __init__(self, has: np.ndarray, n_unmatched: int) -> None:
        self.people = np.flatnonzero(has)
        self.n_people = len(self.people)
        self.n = self.n_people + n_unmatched
        self.row_of_person = np.full(len(has), -1)
        self.row_of_person[self.people] = np.arange(self.n_people)

    def rows(self, person: np.ndarray, uacct: np.ndarray) -> np.ndarray:
        return np.where(
            person >= 0, self.row_of_person[np.maximum(person, 0)], self.n_people + uacct
        )


class _Assembler:
    """Turns the generator's number tables into the frames of model.py (strings made here)."""

    def __init__(
        self,
        g: _Generator,
        p: _People,
        acts: dict,
        comps: dict,
        offsets: dict[int, tuple[np.ndarray, np.ndarray]],
        sizes: dict[int, int],
    ) -> None:
        self.g, self.p, self.acts, self.comps = g, p, acts, comps
        self.offsets, self.sizes = offsets, sizes
        self.rng = g.rng
        self.v = g.v
        self.salt = g.salt
        self.ids_by_pos: dict[int, pd.Series] = {}  # system → record ids indexed by act row
        self.comp_ids_by_pos: dict[int, pd.Series] = {}

    # -- people and HR -----------------------------------------------------------------

    def names(self) -> None:
        p = self.p
        firsts = list(cat.FIRST_NAMES)
        lasts = list(cat.LAST_NAMES)
        self.first = _take(firsts, p.first)
        self.last = _take(lasts, p.last)
        suffix_vocab = [""] + [str(i) for i in range(2, int(p.dup_rank.max(initial=0)) + 2)]
        local = (
            _take([f.lower() for f in firsts], p.first)
            + "."
            + _take([x.lower() for x in lasts], p.last)
            + _take(suffix_vocab, p.dup_rank)
        )
        self.work_email = local + "@" + cat.EMAIL_DOMAIN
        cased = self.first + "." + self.last + _take(suffix_vocab, p.dup_rank)
        typed = cased + "@Acme-Health.example"
        self.roster_email = self.work_email.where(~p.case_email, typed)
        self.personal_local = local + digit_ids(p.number % 1000, 3)
        personal = self.personal_local + "@" + cat.PERSONAL_DOMAIN
        self.account_email = self.work_email.where(~p.explicit, personal)
        self.user_name = local
        self.employee_id = digit_ids(p.number, 6)

    def roster(self, accounts: dict[int, tuple[_Accounts, pd.Series]]) -> pd.DataFrame:
        p = self.p
        aud_names = [a[0] for a in cat.AUDIENCES]
        second = _take(aud_names, np.maximum(p.aud2, 0))
        audiences = _take(aud_names, p.aud1).where(
            p.aud2 < 0, _take(aud_names, p.aud1) + "; " + second
        )
        explicit = {}
        for system in (THRIVE, BRIGHTSPACE, COURSEPATH):
            acc, ids = accounts[system]
            row = acc.row_of_person
            missing = ~(p.explicit & (row >= 0))
            if len(ids) == 0:
                explicit[system] = pd.Series([pd.NA] * p.n, dtype=STR)
                continue
            values = ids.astype(STR).take(np.maximum(row, 0)).reset_index(drop=True)
            explicit[system] = _null_where(values, missing)
        manager = self.employee_id.take(np.maximum(p.manager, 0)).reset_index(drop=True)
        return _frame(
            {
                "employee_id": self.employee_id,
                "first_name": self.first,
                "last_name": self.last,
                "email": self.roster_email,
                "department": _take([d for d, _a in cat.DEPARTMENTS], p.dept),
                "manager_id": _null_where(manager, p.manager < 0),
                "audiences": _null_where(audiences, ~p.roster_aud),
                "start_date": _naive_dates(p.start),
                "leave_date": _naive_dates(np.maximum(p.leave, 0), p.leave < 0),
                "fte": p.fte.astype(np.float64),
                "exempt": p.exempt.copy(),
                "exempt_reason": _null_where(_take(cat.EXEMPT_REASONS, p.exempt_reason), ~p.exempt),
                "thrive_id": explicit[THRIVE],
                "brightspace_id": explicit[BRIGHTSPACE],
                "coursepath_id": explicit[COURSEPATH],
            }
        )

    def policy(
        self, content_ids: pd.Series, external_ids: pd.Series, cp_ids: pd.Series
    ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
        req = [
            (ref if by_ref else name, policy[0], policy[1])
            for name, ref, _t, policy, by_ref in cat.AUDIENCES
            if policy is not None
        ]
        requirements = _frame(
            {
                "audience": pd.Series([r[0] for r in req], dtype=STR),
                "required_minutes": np.array([r[1] for r in req], dtype=np.int64),
                "structured_minutes": np.array([r[2] for r in req], dtype=np.int64),
            }
        )
        categories = _frame(
            {
                "category": pd.Series([c[0] for c in cat.CATEGORIES], dtype=STR),
                "structured": np.array([c[1] for c in cat.CATEGORIES], dtype=bool),
                "min_minutes": pd.array([c[2] for c in cat.CATEGORIES], dtype="Int64"),
                "max_minutes": pd.array([c[3] for c in cat.CATEGORIES], dtype="Int64"),
            }
        )
        v = self.v
        listed = np.flatnonzero(v.course_listed)
        is_thrive = v.course_system[listed] == THRIVE
        n_thrive = v.n_thrive
        course_ids = pd.concat([content_ids, cp_ids], ignore_index=True)
        ext_by_course = pd.Series(pd.NA, index=range(len(v.course_system)), dtype=STR)
        ext_courses = np.flatnonzero(v.course_external)
        ext_by_course.iloc[ext_courses] = external_ids.to_numpy()
        ext_by_course.iloc[:n_thrive] = content_ids.to_numpy()
        cat_names = [c[0] for c in cat.CATEGORIES]
        cat_structured = np.array([c[1] for c in cat.CATEGORIES])
        courses = _frame(
            {
                "system": _take(["coursepath", "thrive"], is_thrive.astype(int)),
                "course_id": course_ids.take(listed),
                "title": _take(v.titles, v.course_title[listed]),
                "cpd_minutes": v.course_value[listed].astype(np.int64),
                "category": _take(cat_names, v.course_category[listed]),
                "structured": cat_structured[v.course_category[listed]],
                "thrive_content_id": ext_by_course.take(listed),
            }
        )
        return requirements, categories, courses

    def cpd_log(self) -> tuple[pd.DataFrame, np.ndarray]:
        a = self.acts
        rows = np.flatnonzero(a["system"] == CPD_LOG)
        rows = rows[np.lexsort((rows, a["day"][rows], a["person"][rows]))]
        person = a["person"][rows]
        cat_of_title = self.v.title_category[a["title"][rows]]
        structured = np.array([c[1] for c in cat.CATEGORIES])[cat_of_title]
        no_id = self.rng.random(len(rows)) < 0.15
        frame = _frame(
            {
                "employee_id": _null_where(self.employee_id.take(person), no_id),
                "email": self.roster_email.take(person),
                "title": self.titles(rows),
                "date": _naive_dates(a["day"][rows]),
                "minutes": a["minutes"][rows].astype(np.int64),
                "category": _take([c[0] for c in cat.CATEGORIES], cat_of_title),
                "structured": structured,
            }
        )
        # The CPD log's record id is the row number Excel shows (header on row 1).
        self.ids_by_pos[CPD_LOG] = pd.Series(
            digit_ids(np.arange(len(rows)) + 2, 7).str.lstrip("0").to_numpy(), index=rows
        )
        return frame, rows

    def titles(self, rows: np.ndarray) -> pd.Series:
        a = self.acts
        code = a["title"][rows] + a["variant"][rows] * len(self.v.titles)
        return _take(self.v.titles + self.v.variants, code)

    # -- Thrive ------------------------------------------------------------------------

    def thrive(self) -> dict[str, pd.DataFrame]:
        g, p, v, a = self.g, self.p, self.v, self.acts
        acc = _Accounts(p.has_t, self.sizes[THRIVE])
        self.thrive_acc = acc
        u_n = acc.n - acc.n_people
        user_ids = hex_ids("5f3c2e10", np.arange(acc.n), self.salt + 1 * ID_STREAM)
        self.thrive_user_ids = user_ids
        u_first = self.rng.integers(0, len(cat.FIRST_NAMES), u_n)
        u_last = self.rng.integers(0, len(cat.LAST_NAMES), u_n)
        u_email, u_ref = self.unmatched_identity(u_first, u_last, "t")
        persons = acc.people
        ref = _null_where(self.employee_id.take(persons), ~p.ref_t[persons])
        left = (p.leave[persons] >= 0) & (p.leave[persons] <= g.as_of)
        users = _frame(
            {
                "id": user_ids,
                "ref": pd.concat([ref, u_ref], ignore_index=True),
                "firstName": pd.concat(
                    [self.first.take(persons), _take(cat.FIRST_NAMES, u_first)], ignore_index=True
                ),
                "lastName": pd.concat(
                    [self.last.take(persons), _take(cat.LAST_NAMES, u_last)], ignore_index=True
                ),
                "email": pd.concat([self.account_email.take(persons), u_email], ignore_index=True),
                "status": _take(
                    ["active", "inactive"],
                    np.concatenate([left, np.zeros(u_n, dtype=bool)]).astype(int),
                ),
            }
        )

        aud = cat.AUDIENCES
        aud_ids = hex_ids("60a7b3c1", np.arange(len(aud)), self.salt + 2 * ID_STREAM)
        audiences = _frame(
            {
                "id": aud_ids,
                "name": pd.Series([x[0] for x in aud], dtype=STR),
                "reference": pd.Series([x[1] for x in aud], dtype=STR),
            }
        )
        # membership: primary audience (always when the roster is silent), secondary often
        r = self.rng.random((len(persons), 2))
        first_in = ~p.roster_aud[persons] | (r[:, 0] < 0.8)
        second_in = (p.aud2[persons] >= 0) & (r[:, 1] < 0.8)
        m_person = np.concatenate([persons[first_in], persons[second_in]])
        m_aud = np.concatenate([p.aud1[persons][first_in], p.aud2[persons][second_in]])
        m_order = np.lexsort((m_person, m_aud))
        m_person, m_aud = m_person[m_order], m_aud[m_order]
        m_row = acc.row_of_person[m_person]
        members = _frame(
            {
                "audienceId": aud_ids.take(m_aud),
                "userId": user_ids.take(m_row),
                "reference": users["ref"].take(m_row),
                "email": users["email"].take(m_row),
            }
        )
        with_req = [i for i, x in enumerate(aud) if x[2] is not None]
        n_req = len(with_req)
        created = _utc(
            np.full(n_req, _day(dt.date(2025, 3, 1))) + np.arange(n_req) * 7,
            np.full(n_req, 600),
            "UTC",
        )
        updated = _utc(np.full(n_req, _day(dt.date(2025, 12, 1))), np.full(n_req, 600), "UTC")
        updated[np.arange(n_req) % 2 == 0] = pd.NaT
        requirements = _frame(
            {
                "audienceRequirementId": hex_ids(
                    "61b2c4d5", np.arange(n_req), self.salt + 3 * ID_STREAM
                ),
                "audienceId": aud_ids.take(with_req),
                "requiredMinutes": np.array([aud[i][2] for i in with_req], dtype=np.int64),
                "createdAt": created,
                "updatedAt": updated,
            }
        )
        cat_ids = hex_ids("5c893615", np.arange(len(cat.CATEGORIES)), self.salt + 4 * ID_STREAM)
        categories = _frame(
            {"categoryId": cat_ids, "name": pd.Series([c[0] for c in cat.CATEGORIES], dtype=STR)}
        )

        rows = np.flatnonzero(a["system"] == THRIVE)
        rows = rows[np.lexsort((rows, a["mod"][rows], a["day"][rows]))]
        ts = _utc(a["day"][rows], a["mod"][rows], g.tz)
        entry_ids = hex_ids("6601a1b2", np.arange(len(rows)), self.salt + 5 * ID_STREAM)
        self.ids_by_pos[THRIVE] = pd.Series(entry_ids.to_numpy(), index=rows)
        acct_rows = acc.rows(a["person"][rows], a["uacct"][rows])
        title_cat = v.title_category[a["title"][rows]]
        entries = _frame(
            {
                "logEntryId": entry_ids,
                "userId": user_ids.take(acct_rows),
                "activityType": _take(v.title_type, a["title"][rows]),
                "activityName": self.titles(rows),
                "categoryId": cat_ids.take(title_cat),
                "categoryName": _take([c[0] for c in cat.CATEGORIES], title_cat),
                "entryDate": ts,
                "durationMinutes": a["minutes"][rows].astype(np.int64),
                "description": _take(
                    cat.ENTRY_DESCRIPTIONS,
                    self.rng.integers(0, len(cat.ENTRY_DESCRIPTIONS), len(rows)),
                ),
                "isVerified": self.rng.random(len(rows)) < 0.3,
            }
        )
        offset_persons, offset_minutes = self.offsets[THRIVE]
        offsets = _frame(
            {
                "userId": user_ids.take(acc.row_of_person[offset_persons]),
                "offsetMinutes": offset_minutes.astype(np.int64),
            }
        )

        # contents: the catalogue, then Coursepath courses also published in Thrive
        ext = np.flatnonzero(v.course_external)
        n_content = v.n_thrive + len(ext)
        content_ids = hex_ids("62c3d5e6", np.arange(n_content), self.salt + 6 * ID_STREAM)
        self.content_ids = content_ids.iloc[: v.n_thrive].reset_index(drop=True)
        self.external_content_ids = content_ids.iloc[v.n_thrive :].reset_index(drop=True)
        contents = _frame(
            {
                "id": content_ids,
                "title": pd.Series(
                    [c[0] for c in cat.THRIVE_CONTENTS]
                    + [v.titles[v.course_title[i]] for i in ext],
                    dtype=STR,
                ),
                "type": pd.Series(
                    [c[1] for c in cat.THRIVE_CONTENTS] + ["External course"] * len(ext), dtype=STR
                ),
                "durationMinutes": np.array(
                    [c[2] for c in cat.THRIVE_CONTENTS] + [int(v.course_value[i]) for i in ext],
                    dtype=np.int64,
                ),
            }
        )
        c = self.comps
        c_rows = np.flatnonzero(c["system"] == THRIVE)
        c_rows = c_rows[np.lexsort((c_rows, c["mod"][c_rows], c["day"][c_rows]))]
        c_ts = _utc(c["day"][c_rows], c["mod"][c_rows], g.tz)
        comp_ids = hex_ids("63d4e6f7", np.arange(len(c_rows)), self.salt + 7 * ID_STREAM)
        self.comp_ids_by_pos[THRIVE] = pd.Series(comp_ids.to_numpy(), index=c_rows)
        completions = _frame(
            {
                "id": comp_ids,
                "userId": user_ids.take(acc.rows(c["person"][c_rows], c["uacct"][c_rows])),
                "contentId": self.content_ids.take(c["course"][c_rows]),
                "completedAt": c_ts,
                "isRPL": c["rpl"][c_rows].copy(),
            }
        )
        return {
            "thrive_users": users,
            "thrive_audiences": audiences,
            "thrive_audience_members": members,
            "thrive_categories": categories,
            "thrive_requirements": requirements,
            "thrive_entries": entries,
            "thrive_summary_offsets": offsets,
            "thrive_contents": contents,
            "thrive_completions": completions,
        }

    def unmatched_identity(
        self, first: np.ndarray, last: np.ndarray, tag: str
    ) -> tuple[pd.Series, pd.Series]:
        """E-mails and refs of accounts nobody on the roster has (refs start with 9)."""
        m = len(first)
        serial = np.arange(m)
        email = (
            _take([f.lower() for f in cat.FIRST_NAMES], first)
            + "."
            + _take([x.lower() for x in cat.LAST_NAMES], last)
            + "."
            + tag
            + digit_ids(serial, 4)
            + "@"
            + cat.AGENCY_DOMAIN
        )
        ref = _null_where(digit_ids(900_000 + serial * 7 + 3, 6), serial % 2 == 1)
        return email.reset_index(drop=True), ref

    # -- Brightspace -------------------------------------------------------------------

    def brightspace(self) -> dict[str, pd.DataFrame]:
        g, p, v, a = self.g, self.p, self.v, self.acts
        acc = _Accounts(p.has_b, self.sizes[BRIGHTSPACE])
        self.bs_acc = acc
        u_n = acc.n - acc.n_people
        user_ids = np.sort(self.rng.choice(900_000, acc.n, replace=False)) + 100_000
        user_ids = self.rng.permutation(user_ids).astype(np.int64)
        self.bs_user_ids = user_ids
        u_first = self.rng.integers(0, len(cat.FIRST_NAMES), u_n)
        u_last = self.rng.integers(0, len(cat.LAST_NAMES), u_n)
        u_email, u_ref = self.unmatched_identity(u_first, u_last, "b")
        persons = acc.people
        left = (p.leave[persons] >= 0) & (p.leave[persons] <= g.as_of)
        email = pd.concat([self.account_email.take(persons), u_email], ignore_index=True)
        users = _frame(
            {
                "UserId": user_ids,
                "OrgDefinedId": pd.concat(
                    [_null_where(self.employee_id.take(persons), ~p.ref_b[persons]), u_ref],
                    ignore_index=True,
                ),
                "ExternalEmail": email,
                "UserName": pd.concat(
                    [
                        self.user_name.where(~p.explicit, self.personal_local).take(persons),
                        u_email.str.replace("@" + cat.AGENCY_DOMAIN, "", regex=False),
                    ],
                    ignore_index=True,
                ),
                "FirstName": pd.concat(
                    [self.first.take(persons), _take(cat.FIRST_NAMES, u_first)], ignore_index=True
                ),
                "LastName": pd.concat(
                    [self.last.take(persons), _take(cat.LAST_NAMES, u_last)], ignore_index=True
                ),
                "IsActive": np.concatenate([~left, np.ones(u_n, dtype=bool)]),
            }
        )
        users = users.sort_values("UserId", kind="stable", ignore_index=True)

        rows = np.flatnonzero(a["system"] == BRIGHTSPACE)
        rows = rows[np.lexsort((rows, a["mod"][rows], a["day"][rows]))]
        ts = _utc(a["day"][rows], a["mod"][rows], g.tz)
        record_ids = (1_000_001 + np.arange(len(rows))).astype(np.int64)
        self.ids_by_pos[BRIGHTSPACE] = pd.Series(digit_ids(record_ids, 7).to_numpy(), index=rows)
        title_cat = v.title_category[a["title"][rows]]
        method = v.title_method[a["title"][rows]]
        structured = np.array([c[1] for c in cat.CATEGORIES])
        records = _frame(
            {
                "RecordId": record_ids,
                "UserId": user_ids[acc.rows(a["person"][rows], a["uacct"][rows])],
                "RecordName": self.titles(rows),
                "CategoryId": (title_cat + 1).astype(np.int64),
                "CategoryName": _take([c[0] for c in cat.CATEGORIES], title_cat),
                "MethodId": (method + 1).astype(np.int64),
                "MethodName": _take(cat.METHODS, method),
                "IsStructured": structured[title_cat],
                "RecordStateId": a["state"][rows].astype(np.int64),
                "CreditMinutes": a["minutes"][rows].astype(np.int64),
                "DateCompleted": ts,
            }
        )
        offset = np.zeros(acc.n, dtype=np.int64)
        offset_persons, offset_minutes = self.offsets[BRIGHTSPACE]
        offset[acc.row_of_person[offset_persons]] = offset_minutes
        targets = _frame(
            {
                "UserId": user_ids,
                "StructuredDenominator": np.array([300, 600, 900])[
                    self.rng.integers(0, 3, acc.n)
                ].astype(np.int64),
                "UnstructuredDenominator": np.array([600, 900, 1200])[
                    self.rng.integers(0, 3, acc.n)
                ].astype(np.int64),
                "OffsetMinutes": offset,
            }
        ).sort_values("UserId", kind="stable", ignore_index=True)
        lookup = {
            "bs_categories": [c[0] for c in cat.CATEGORIES],
            "bs_methods": list(cat.METHODS),
        }
        out = {"bs_users": users, "bs_records": records, "bs_targets": targets}
        for name, values in lookup.items():
            out[name] = _frame(
                {
                    "Id": np.arange(1, len(values) + 1, dtype=np.int64),
                    "Name": pd.Series(values, dtype=STR),
                    "SortOrder": np.arange(1, len(values) + 1, dtype=np.int64),
                    "InUse": np.ones(len(values), dtype=bool),
                }
            )
        return out

    # -- Coursepath --------------------------------------------------------------------

    def coursepath(self) -> dict[str, pd.DataFrame]:
        g, p, v, c = self.g, self.p, self.v, self.comps
        acc = _Accounts(p.has_c, self.sizes[COURSEPATH])
        self.cp_acc = acc
        u_n = acc.n - acc.n_people
        numbers = np.sort(self.rng.choice(8_000_000, acc.n, replace=False)) + 1_000_000
        member_ids = digit_ids(self.rng.permutation(numbers), 7)
        self.cp_member_ids = member_ids
        u_first = self.rng.integers(0, len(cat.FIRST_NAMES), u_n)
        u_last = self.rng.integers(0, len(cat.LAST_NAMES), u_n)
        u_email, u_ref = self.unmatched_identity(u_first, u_last, "c")
        persons = acc.people
        dept_names = [d for d, _a in cat.DEPARTMENTS]
        members = _frame(
            {
                "id": member_ids,
                "email": pd.concat([self.account_email.take(persons), u_email], ignore_index=True),
                "name": pd.concat(
                    [
                        self.first.take(persons) + " " + self.last.take(persons),
                        _take(cat.FIRST_NAMES, u_first) + " " + _take(cat.LAST_NAMES, u_last),
                    ],
                    ignore_index=True,
                ),
                "externalId": pd.concat(
                    [_null_where(self.employee_id.take(persons), ~p.ref_c[persons]), u_ref],
                    ignore_index=True,
                ),
                "company": pd.Series([cat.COMPANY] * acc.n, dtype=STR),
                "department": _null_where(
                    _take(dept_names, np.concatenate([p.dept[persons], np.zeros(u_n, int)])),
                    np.arange(acc.n) >= acc.n_people,
                ),
                "country": pd.Series([cat.COUNTRIES[0]] * acc.n, dtype=STR),
            }
        )
        cp_index = np.flatnonzero(v.course_system == COURSEPATH)
        course_ids = digit_ids(48_200 + np.arange(len(cp_index)) * 13, 5)
        self.cp_course_ids = course_ids
        courses = _frame({"id": course_ids, "name": _take(v.titles, v.course_title[cp_index])})
        rows = np.flatnonzero(c["system"] == COURSEPATH)
        local = c["course"][rows] - v.n_thrive
        acct = acc.rows(c["person"][rows], c["uacct"][rows])
        rows = rows[np.lexsort((acct, local))]
        local = c["course"][rows] - v.n_thrive
        acct = acc.rows(c["person"][rows], c["uacct"][rows])
        completed = c["completed"][rows]
        done_at = _utc(c["day"][rows], c["mod"][rows], g.tz)
        done_at[~completed] = pd.NaT
        enrolled = _utc(c["day"][rows] - c["enrol_lag"][rows], np.full(len(rows), 9 * 60), g.tz)
        cid = course_ids.take(local).reset_index(drop=True)
        mid = member_ids.take(acct).reset_index(drop=True)
        success = c["success"][rows] & completed
        cert = "https://academy.sandbox.example/certificates/" + cid + "-" + mid + ".pdf"
        course_members = _frame(
            {
                "courseId": cid,
                "memberId": mid,
                "enrolledAt": enrolled,
                "completed": completed.copy(),
                "completedAt": done_at,
                "score": c["score"][rows].astype(np.float64),
                "success": success,
                "certificateUrl": _null_where(cert, ~success),
            }
        )
        self.comp_ids_by_pos[COURSEPATH] = pd.Series((cid + ":" + mid).to_numpy(), index=rows)
        present = np.unique(p.dept[persons])
        group_ids = digit_ids(7_100 + np.arange(len(present)), 4)
        groups = _frame({"id": group_ids, "name": _take(dept_names, present)})
        g_of_dept = np.full(len(cat.DEPARTMENTS), -1)
        g_of_dept[present] = np.arange(len(present))
        gm_group = g_of_dept[p.dept[persons]]
        gm_order = np.lexsort((np.arange(len(persons)), gm_group))
        group_members = _frame(
            {
                "groupId": group_ids.take(gm_group[gm_order]),
                "memberId": member_ids.take(np.arange(len(persons))[gm_order]),
            }
        )
        return {
            "cp_members": members,
            "cp_courses": courses,
            "cp_course_members": course_members,
            "cp_groups": groups,
            "cp_group_members": group_members,
        }

    # -- planted -----------------------------------------------------------------------

    def account_id(self, system: int, person: np.ndarray, uacct: np.ndarray) -> pd.Series:
        if system == THRIVE:
            return self.thrive_user_ids.take(self.thrive_acc.rows(person, uacct))
        if system == BRIGHTSPACE:
            ids = self.bs_user_ids[self.bs_acc.rows(person, uacct)]
            return digit_ids(ids, 6) if len(ids) else pd.Series([], dtype=STR)
        if system == COURSEPATH:
            return self.cp_member_ids.take(self.cp_acc.rows(person, uacct))
        return pd.Series([pd.NA] * len(person), dtype=STR)

    def planted(self) -> pd.DataFrame:
        parts: list[pd.DataFrame] = []
        a, c, v = self.acts, self.comps, self.v
        details = {
            "draft": "Brightspace record saved as draft (RecordStateId 2)",
            "out_of_period": "local date outside the period",
            "future_dated": "dated after as_of, inside the period",
            "implausible": "minutes outside (0, 1440]",
            "unverified_claim": "activity names a catalogue course with no completion",
            "failed_course_logged": "activity of a course whose Coursepath result failed",
            "duplicate_activity": "duplicate of ",
        }
        for system in (THRIVE, BRIGHTSPACE, CPD_LOG):
            rows = np.flatnonzero((a["system"] == system) & (a["kind"] >= 0))
            if not len(rows):
                continue
            kinds = a["kind"][rows]
            detail = _take([details.get(k, k) for k in KINDS], kinds)
            dup = kinds == K["duplicate_activity"]
            if dup.any():
                orig = a["orig"][rows[dup]]
                orig_sys = a["system"][orig]
                orig_ids = pd.Series([None] * len(orig), dtype=STR)
                for s in (THRIVE, BRIGHTSPACE):
                    sel = orig_sys == s
                    orig_ids[sel] = self.ids_by_pos[s].loc[orig[sel]].to_numpy()
                detail[dup] = (
                    "duplicate of " + _take(SYSTEM_NAMES, orig_sys) + " record " + orig_ids
                ).to_numpy()
            person = a["person"][rows]
            parts.append(
                _frame(
                    {
                        "kind": _take(KINDS, kinds),
                        "system": _take(SYSTEM_NAMES, np.full(len(rows), system)),
                        "record_id": self.ids_by_pos[system].loc[rows.tolist()],
                        "account_id": self.account_id(system, person, a["uacct"][rows]),
                        "employee_id": self.employee_id.take(person),
                        "minutes": a["minutes"][rows].astype(np.int64),
                        "detail": detail,
                    }
                )
            )
        for system in (THRIVE, COURSEPATH):
            rows = np.flatnonzero((c["system"] == system) & (c["kind"] >= 0))
            if not len(rows):
                continue
            kinds = c["kind"][rows]
            person = c["person"][rows]
            reasons = np.where(
                kinds == K["unlogged_completion"],
                "passed completion with no logged activity",
                "completion dated outside the period (local date)",
            )
            parts.append(
                _frame(
                    {
                        "kind": _take(KINDS, kinds),
                        "system": _take(SYSTEM_NAMES, np.full(len(rows), system)),
                        "record_id": self.comp_ids_by_pos[system].loc[rows.tolist()],
                        "account_id": self.account_id(system, person, c["uacct"][rows]),
                        "employee_id": self.employee_id.take(person),
                        "minutes": v.course_value[c["course"][rows]].astype(np.int64),
                        "detail": pd.Series(reasons, dtype=STR),
                    }
                )
            )
        parts.extend(self.planted_accounts())
        out = pd.concat(parts, ignore_index=True)
        for col in ("kind", "system", "record_id", "account_id", "employee_id", "detail"):
            out[col] = out[col].astype(STR)
        out["minutes"] = out["minutes"].astype(np.int64)
        order = np.lexsort(
            (
                out["record_id"].fillna("").to_numpy(dtype=object).astype(str),
                out["system"].to_numpy(dtype=object).astype(str),
                out["kind"].to_numpy(dtype=object).astype(str),
            )
        )
        return out.take(order).reset_index(drop=True)

    def planted_accounts(self) -> list[pd.DataFrame]:
        """Rows about accounts: mismatched totals, unmatched accounts, case-different e-mails."""
        a, c, v, p = self.acts, self.comps, self.v, self.p
        parts = []
        for system in (THRIVE, BRIGHTSPACE):
            persons, offset = self.offsets[system]
            parts.append(
                self.account_rows(
                    "platform_total_mismatch",
                    system,
                    persons,
                    np.full(len(persons), -1),
                    offset,
                    "platform total differs from the detail by the offset",
                )
            )
        for system in (THRIVE, BRIGHTSPACE, COURSEPATH):
            u = np.arange(self.sizes[system])
            if system == COURSEPATH:
                sel = (c["system"] == system) & (c["person"] < 0)
                minutes = np.bincount(
                    c["uacct"][sel], weights=v.course_value[c["course"][sel]], minlength=len(u)
                )
            else:
                sel = (a["system"] == system) & (a["person"] < 0)
                minutes = np.bincount(a["uacct"][sel], weights=a["minutes"][sel], minlength=len(u))
            parts.append(
                self.account_rows(
                    "unmatched_account",
                    system,
                    np.full(len(u), -1),
                    u,
                    minutes.astype(np.int64),
                    "account matches nobody on the roster",
                )
            )
        for system, has in ((THRIVE, p.has_t), (BRIGHTSPACE, p.has_b), (COURSEPATH, p.has_c)):
            persons = np.flatnonzero(p.case_email & has)
            parts.append(
                self.account_rows(
                    "case_different_email",
                    system,
                    persons,
                    np.full(len(persons), -1),
                    np.zeros(len(persons), dtype=np.int64),
                    "roster e-mail differs only in case: must match",
                )
            )
        return parts

    def account_rows(
        self,
        kind: str,
        system: int,
        person: np.ndarray,
        uacct: np.ndarray,
        minutes: np.ndarray,
        detail: str,
    ) -> pd.DataFrame:
        m = len(person)
        account = self.account_id(system, person, uacct)
        employee = _null_where(self.employee_id.take(np.maximum(person, 0)), person < 0)
        return _frame(
            {
                "kind": pd.Series([kind] * m, dtype=STR),
                "system": pd.Series([SYSTEM_NAMES[system]] * m, dtype=STR),
                "record_id": account,
                "account_id": account,
                "employee_id": employee,
                "minutes": np.asarray(minutes, dtype=np.int64),
                "detail": pd.Series([detail] * m, dtype=STR),
            }
        )

    # -- all ---------------------------------------------------------------------------

    def organisation(self) -> Organisation:
        g = self.g
        self.names()
        frames: dict[str, pd.DataFrame] = {}
        frames |= self.thrive()
        frames |= self.brightspace()
        frames |= self.coursepath()
        cpd_log, _ = self.cpd_log()
        accounts = {
            THRIVE: (self.thrive_acc, self.thrive_user_ids),
            BRIGHTSPACE: (self.bs_acc, pd.Series(self.bs_user_ids).astype(str).astype(STR)),
            COURSEPATH: (self.cp_acc, self.cp_member_ids),
        }
        requirements, categories, courses = self.policy(
            self.content_ids, self.external_content_ids, self.cp_course_ids
        )
        period_start, period_end, as_of = g.dates
        return Organisation(
            seed=g.seed,
            people=g.n,
            timezone=g.tz,
            period_start=period_start,
            period_end=period_end,
            as_of=as_of,
            roster=self.roster(accounts),
            policy_requirements=requirements,
            policy_categories=categories,
            policy_courses=courses,
            cpd_log=cpd_log,
            planted=self.planted(),
            **frames,
        )


def generate(
    people: int = 200,
    seed: int = 1,
    *,
    period_start: dt.date = dt.date(2026, 1, 1),
    period_end: dt.date = dt.date(2026, 12, 31),
    as_of: dt.date = dt.date(2026, 11, 15),
    timezone: str = "America/New_York",
    activities_per_person: float = 20.0,
    completions_per_person: float = 5.0,
) -> Organisation:
    """Build a deterministic sample organisation: same arguments ⇒ identical frames.

    ``people`` roster rows; ``activities_per_person`` CPD activities on average across
    Thrive, Brightspace and the CPD log (course-logging ones included);
    ``completions_per_person`` course results on average across Thrive and Coursepath.
    The planted anomalies are listed in ``Organisation.planted`` (docs/sandbox-data.md).
    """
    if people < 1:
        raise ConfigError(f"people must be at least 1 (got {people}); pass --people 200 or more")
    if period_end < period_start:
        raise ConfigError(
            f"period end {period_end} is before its start {period_start}; swap the dates"
        )
    if min(period_end, as_of) < period_start + dt.timedelta(days=MIN_DAYS_OF_DATA):
        raise ConfigError(
            f"as_of {as_of} (or the period end) leaves fewer than {MIN_DAYS_OF_DATA} days of "
            f"the period starting {period_start} for sample data; use a later as_of"
        )
    if activities_per_person < 0 or completions_per_person < 0:
        raise ConfigError("activities and completions per person must be >= 0")
    try:
        pd.Timestamp("2026-01-01").tz_localize(timezone)
    except Exception as exc:
        raise ConfigError(
            f"unknown timezone {timezone!r}; use an IANA name such as 'Europe/London'"
        ) from exc
    gen = _Generator(
        people,
        seed,
        period_start,
        period_end,
        as_of,
        timezone,
        activities_per_person,
        completions_per_person,
    )
    return gen.run()
