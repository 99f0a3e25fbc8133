"""Is your LLM agent getting better or worse?

traceflow reads TraceFlow Lite's trace store (or a team's PostgreSQL
database) and judges the trend across runs. This package is the proposal's
API over traceflow's Rust analyzer::

    from traceflow import TraceTrendAnalyzer

    report = TraceTrendAnalyzer(store).analyze()  # the last 500 runs, as `traceflow gate`
    if report.any_regression:
        raise SystemExit(f"Eval regression detected: {report.summary}")
    if report.insufficient_data:
        raise SystemExit("Too little data to judge: see the TraceflowWarning above")

A verdict of too little data is a :class:`TraceflowWarning` saying what
would fix it; ``any_regression`` alone cannot tell it from a pass.

``store`` is a path to ``traceflow.db``, a ``postgres://`` URL, or TraceFlow
Lite's own ``TraceStore`` (or any ``sqlite3.Connection`` to a store file).
``python -m traceflow`` runs the ``traceflow`` command.
"""

import contextlib
import os
import sqlite3
import sys
from datetime import datetime
from typing import Any, Iterable, Iterator, Literal, Optional, Union

from traceflow._traceflow import (
    CaseReport,
    CompareReport,
    GateResult,
    SuiteReport,
    TraceRunSummary,
    TraceTrendReport,
    __version__,
    case_analysis,
    comparison,
    gate_of,
    open_in_python,
    suite_trend,
    trace_trend,
)
from traceflow.errors import (
    InvalidArgumentError,
    NotEnoughDataError,
    StoreConnectionError,
    StoreError,
    StoreNotFoundError,
    TraceflowError,
    TraceflowWarning,
)

__all__ = [
    "TraceTrendAnalyzer",
    "TraceTrendReport",
    "TraceRunSummary",
    "trend",
    "gate",
    "cases",
    "compare",
    "SuiteReport",
    "GateResult",
    "CaseReport",
    "CompareReport",
    "TraceflowError",
    "StoreError",
    "StoreNotFoundError",
    "StoreConnectionError",
    "InvalidArgumentError",
    "NotEnoughDataError",
    "TraceflowWarning",
    "__version__",
]

Store = Union[str, "os.PathLike[str]", sqlite3.Connection, Any]
"""What names a store: a path, a PostgreSQL URL or conninfo, a
``sqlite3.Connection`` to the file, or an object with such a ``conn``
(TraceFlow Lite's ``TraceStore``)."""


def _store_name(store: Store) -> str:
    """The path or URL the analyzer opens for ``store``."""
    if isinstance(store, (str, os.PathLike)):
        name = os.fspath(store)
        if isinstance(name, str):
            return name
    conn = store if isinstance(store, sqlite3.Connection) else getattr(store, "conn", None)
    if isinstance(conn, sqlite3.Connection):
        # TraceFlow Lite's TraceStore keeps its connection, not its path.
        try:
            files = conn.execute("PRAGMA database_list").fetchall()
        except sqlite3.Error as err:
            raise InvalidArgumentError(
                f"cannot ask the store's connection for its file ({err}); pass the store's path instead"
            ) from None
        for _seq, name, path in files:
            if name == "main":
                if not path:
                    raise InvalidArgumentError(
                        "the store's connection is to an in-memory database, which only it can read;"
                        " give a TraceStore on a file"
                    )
                return path
    raise InvalidArgumentError(
        f"store must be a path, a postgres:// URL or a TraceStore, got {type(store).__name__!r}"
    )


@contextlib.contextmanager
def _readable(store: Store) -> Iterator[tuple[str, Optional[str]]]:
    """The name to hand the analyzer for ``store``, and the store's own
    file when that is a copy of it (no report may be written over it).

    A store file this process already has open through Python's sqlite3 is
    read through a snapshot copy made by Python's own SQLite: traceflow's
    SQLite is a second copy in the process, and POSIX locks belong to the
    process, so its closing the file would release the TraceStore's locks
    (and neither copy would see the other's). The copy is what a reader
    would have seen at that moment; it is deleted afterwards. traceflow's
    own analyses of the file (other threads') need no copy.
    """
    name = _store_name(store)
    owned = not isinstance(store, (str, os.PathLike))
    if not os.path.isfile(name) or not (owned or open_in_python(name)):
        yield name, None
        return
    import tempfile  # only when a copy is needed: the import stays quick
    from pathlib import Path

    with tempfile.TemporaryDirectory(prefix="traceflow-") as tmp:
        copy = os.path.join(tmp, "store.db")
        try:
            source = sqlite3.connect(Path(name).absolute().as_uri() + "?mode=ro", uri=True, timeout=5)
            try:
                target = sqlite3.connect(copy)
                try:
                    source.backup(target)
                finally:
                    target.close()
            finally:
                source.close()
        except sqlite3.Error as err:
            raise StoreError(f"{name}: cannot read it through this process's SQLite: {err}") from None
        try:
            yield copy, name
        except TraceflowError as err:
            # Messages name the store as given, not the copy.
            raise type(err)(str(err).replace(copy, name)) from None


def _number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidArgumentError(f"{name} must be a number, got {value!r}")
    return float(value)


def _count(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgumentError(f"{name} must be a whole number, got {value!r}")
    if value < 0:
        raise InvalidArgumentError(f"{name} must be a positive whole number, got {value!r}")
    # Beyond any store's size: as many as there are.
    return min(value, sys.maxsize)


def _text(name: str, value: Any, choices: str = "a string") -> str:
    if not isinstance(value, str):
        raise InvalidArgumentError(f"{name} must be {choices}, got {value!r}")
    return value


def _optional_text(name: str, value: Any, choices: str = "a string") -> Optional[str]:
    return None if value is None else _text(name, value, f"None or {choices}")


def _flag(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise InvalidArgumentError(f"{name} must be True or False, got {value!r}")
    return value


_METHODS = '"auto" or "ols"'


def _window(window: Union[int, Literal["all"], None]) -> Optional[int]:
    """The number of runs asked for; ``None`` for the method's default
    (and for ``"all"``, which the caller passes on as such)."""
    if window is None or window == "all":
        return None
    if isinstance(window, bool) or not isinstance(window, int):
        raise InvalidArgumentError(f'window must be a number of runs or "all", got {window!r}')
    if window < 0:
        raise InvalidArgumentError(f"window must be at least 2 runs, got {window}")
    return min(window, sys.maxsize)


class TraceTrendAnalyzer:
    """Detects behavioural drift across sequential TraceFlow runs.

    The proposal's analyzer. Each trace is a run; its pass rate is
    PASS / (PASS + REVISE + FALLBACK) of its gate decisions (``trace_evals``
    rows, else the evaluator steps' reports, else its status).

    ``method="auto"`` (the default, as the ``traceflow`` command's) calls a
    regression only when the decline is significant (Cochran–Armitage at
    ``alpha``, one-sided, with a step test) and at least ``min_drop`` across
    the window; ``method="ols"`` is the proposal's rule exactly: the OLS
    slope of pass rate on run index against ±``regression_threshold`` per
    run. ``evaluations`` is how many successive gate runs ``alpha`` covers
    (a gate run after every run; 1: this one alone).
    """

    def __init__(
        self,
        store: Store,
        regression_threshold: float = 0.01,
        *,
        method: Literal["auto", "ols"] = "auto",
        alpha: float = 0.01,
        min_drop: float = 0.05,
        evaluations: int = 1,
    ) -> None:
        self.store = store
        self.threshold = regression_threshold
        self.method = method
        self.alpha = alpha
        self.min_drop = min_drop
        self.evaluations = evaluations

    def analyze(self, window: Union[int, Literal["all"], None] = None) -> TraceTrendReport:
        """The trend over the ``window`` most recent finished runs, oldest
        first: by default (``None``) the command's window, 500 runs for
        ``method="auto"`` and the proposal's 20 for ``"ols"``; ``"all"``:
        every run.

        A verdict of too little data to judge warns: a
        :class:`TraceflowWarning` with the numbers and what would fix them,
        and ``report.insufficient_data`` is True (``any_regression`` is then
        False for want of data).

        The store is read, never written. The GIL is released while the
        analysis runs; Ctrl-C interrupts it. Raises
        :class:`NotEnoughDataError` (a ``ValueError``) when the window has
        fewer than two runs, whatever the method, :class:`StoreNotFoundError` (a
        ``FileNotFoundError``) for a missing store, and
        :class:`InvalidArgumentError` (a ``ValueError``) for bad arguments.
        """
        runs = _window(window)
        method = _text("method", self.method, _METHODS)
        threshold = _number("regression_threshold", self.threshold)
        alpha = _number("alpha", self.alpha)
        min_drop = _number("min_drop", self.min_drop)
        evaluations = _count("evaluations", self.evaluations)
        with _readable(self.store) as (name, origin):
            return trace_trend(
                name,
                origin=origin,
                window=runs,
                all=window == "all",
                method=method,
                threshold=threshold,
                alpha=alpha,
                min_drop=min_drop,
                evaluations=evaluations,
                # The warning names the line that called analyze().
                stacklevel=2,
            )

    def __repr__(self) -> str:
        return (
            f"TraceTrendAnalyzer({self.store!r}, regression_threshold={self.threshold!r},"
            f" method={self.method!r})"
        )


Window = Union[int, Literal["all"], None]
Instant = Union[datetime, str, None]


def _instant(what: str, at: Instant) -> Optional[str]:
    if at is None or isinstance(at, str):
        return at
    if isinstance(at, datetime):
        if at.tzinfo is None or at.utcoffset() is None:
            raise InvalidArgumentError(f"{what} must be an aware datetime (with a tzinfo), got {at!r}")
        return at.isoformat()
    raise InvalidArgumentError(f"{what} must be a datetime or a string such as '14d' or '2026-11-01', got {type(at).__name__}")


def _options(
    window: Window = None,
    method: Literal["auto", "ols"] = "auto",
    alpha: float = 0.01,
    min_drop: float = 0.05,
    evaluations: int = 1,
    group_by: str = "trace",
    metrics: Union[str, Iterable[str]] = "pass_rate",
    segment_by: Optional[str] = None,
    since: Instant = None,
    until: Instant = None,
    case_by: Optional[str] = None,
    exclude_flaky: bool = False,
) -> dict:
    """The analysis keywords every function takes, as the extension reads them."""
    if isinstance(metrics, str):
        metrics = [metrics]
    elif not isinstance(metrics, Iterable):
        raise InvalidArgumentError(f"metrics must be a metric's name or a list of them, got {metrics!r}")
    metrics = [_text("metrics", m, "a metric's name or a list of them") for m in metrics]
    # Python's spelling (pass_rate) or the command's (pass-rate); a score's
    # name is the store's, kept as it is.
    metrics = [m if m.startswith("score.") else m.replace("_", "-") for m in metrics]
    return {
        "window": _window(window),
        "all": window == "all",
        "method": _text("method", method, _METHODS),
        "alpha": _number("alpha", alpha),
        "min_drop": _number("min_drop", min_drop),
        "evaluations": _count("evaluations", evaluations),
        "group_by": _text("group_by", group_by),
        "metrics": metrics,
        "segment_by": _optional_text("segment_by", segment_by),
        "since": _instant("since", since),
        "until": _instant("until", until),
        "case_by": _optional_text("case_by", case_by),
        "exclude_flaky": _flag("exclude_flaky", exclude_flaky),
    }


_OPTIONS_DOC = """
    The analysis keywords, spelled as the command spells its options:
    ``window``: the most recent runs (``None``: 500 for ``auto``, 20 for
    ``ols``; ``"all"``: every run). ``method``, ``alpha``, ``min_drop``,
    ``evaluations``: the verdict's rule. ``group_by``: ``"trace"``,
    ``"hour"``, ``"day"``, ``"week"`` or ``"config.<key>"``. ``metrics``:
    names such as ``"pass_rate"``, ``"fallback_rate"``, ``"cost"``,
    ``"score.<name>"``, or ``"all"`` (the command's ``pass-rate`` spellings
    work too). ``segment_by``: ``"model"``, ``"mode"``, ``"provider"`` or
    ``"config.<key>"``. ``since``/``until``: aware datetimes, ages
    (``"14d"``) or times (``"2026-11-01"``, RFC 3339). ``case_by``:
    ``"input"`` or ``"config.<key>"``; ``exclude_flaky`` leaves flaky cases
    out.
"""


def _checked(function: str, options: dict) -> dict:
    """`options` for the extension, a misspelt keyword named as Python
    names one (a TypeError), with the nearest right one."""
    import difflib  # only for a misspelt keyword: the import stays quick
    import inspect

    known = list(inspect.signature(_options).parameters)
    for key in options:
        if key not in known:
            near = difflib.get_close_matches(key, known, n=1)
            hint = f"; did you mean {near[0]!r}?" if near else f"; the keywords are {', '.join(known)}"
            raise TypeError(f"{function}() got an unexpected keyword argument {key!r}{hint}")
    return _options(**options)


def _suite(function: str, store: Store, options: dict, stacklevel: int) -> SuiteReport:
    """The suite analysis for ``function``; a warning of too little data
    names the line ``stacklevel`` frames up from here."""
    keywords = _checked(function, options)
    with _readable(store) as (name, origin):
        return suite_trend(name, keywords, origin=origin, stacklevel=stacklevel + 1)


def trend(store: Store, **options: Any) -> SuiteReport:
    return _suite("trend", store, options, stacklevel=2)


def gate(store: Store, *, require_data: bool = False, **options: Any) -> GateResult:
    require_data = _flag("require_data", require_data)
    return gate_of(_suite("gate", store, options, stacklevel=2), require_data=require_data)


def cases(
    store: Store,
    *,
    split_at: Union[int, datetime, str, None] = None,
    fdr: float = 0.05,
    show: Literal["news", "flaky", "all"] = "news",
    evaluation: Optional[str] = None,
    **options: Any,
) -> CaseReport:
    if isinstance(split_at, datetime):
        split_at = _instant("split_at", split_at)
    elif isinstance(split_at, bool) or not (split_at is None or isinstance(split_at, (int, str))):
        raise InvalidArgumentError(f"split_at must be a run index, a datetime or a string, got {split_at!r}")
    elif isinstance(split_at, int):
        split_at = _count("split_at", split_at)
    listing = _text("show", show, '"news", "flaky" or "all"')
    evaluation = _optional_text("evaluation", evaluation)
    keywords = _checked("cases", options)
    with _readable(store) as (name, origin):
        return case_analysis(
            name,
            keywords,
            split_at=split_at,
            fdr=_number("fdr", fdr),
            show=listing,
            evaluation=evaluation,
            origin=origin,
        )


def compare(
    store: Store,
    *,
    baseline: Optional[str] = None,
    candidate: Optional[str] = None,
    fdr: float = 0.05,
    unpaired: bool = False,
    show: Literal["news", "all"] = "news",
    **options: Any,
) -> CompareReport:
    selectors = 'a selector such as "last=20"'
    baseline = _optional_text("baseline", baseline, selectors)
    candidate = _optional_text("candidate", candidate, selectors)
    unpaired = _flag("unpaired", unpaired)
    listing = _text("show", show, '"news" or "all"')
    keywords = _checked("compare", options)
    with _readable(store) as (name, origin):
        return comparison(
            name,
            keywords,
            baseline=baseline,
            candidate=candidate,
            fdr=_number("fdr", fdr),
            unpaired=unpaired,
            show=listing,
            stacklevel=2,
            origin=origin,
        )


trend.__doc__ = (
    """Every metric and segment over pooled runs: ``traceflow trend``. A
    report of the total with too little data to judge warns (a
    :class:`TraceflowWarning` with the numbers and what would fix them) and
    makes ``report.insufficient_data`` True.
"""
    + _OPTIONS_DOC
)
gate.__doc__ = (
    """``traceflow gate``: :func:`trend` with the same keywords, and the
    gate's decision on it. ``result.passed`` (also its truth value) and
    ``result.exit_code`` (0; 1 on a regression; 3 on too little data with
    ``require_data=True``) are the command's. Too little data warns (a
    :class:`TraceflowWarning`) and makes ``result.insufficient_data`` True;
    it fails the gate only with ``require_data=True``.
"""
    + _OPTIONS_DOC
)
cases.__doc__ = (
    """Which cases broke: ``traceflow cases``. Each case's pass rate
    before and after ``split_at`` (a run's index, a datetime, an age or a
    time; ``None``: the total's step, else the halves), tested per case at
    false-discovery rate ``fdr``; ``show`` is what the renderings list
    (the JSON lists every case). Cases are inputs unless ``case_by`` says.
"""
    + _OPTIONS_DOC
)
compare.__doc__ = (
    """A candidate against a baseline: ``traceflow compare``. ``baseline``
    and ``candidate`` are the command's selectors (``"last=20"``,
    ``"config.git_sha=abc123"``, ``"since=2d"``, comma-joined); given
    alone, the baseline's other side is the rest of the window; neither:
    the newest run against the rest. ``report.exit_code()`` is the
    command's.
"""
    + _OPTIONS_DOC
)
