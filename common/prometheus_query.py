"""Asking Prometheus off the drawing path: one instant query over HTTP (`query`), and a `Poller` that runs
every panel's queries on its own interval, in a background thread, and keeps what each panel should show.

The HTTP client is the standard library's urllib, not prometheus_api_client: that library does take a
timeout, but by default retries a refused connection three times with back-off (one query to a stopped
Prometheus then takes seconds), and on an HTTP error raises with only the repr of the body, so Prometheus'
own errorType and message ("bad_data: 1:8: parse error: ...") would have to be parsed back out of a string.
Here every answer, good or bad, becomes an `Answer`; nothing is raised and nothing is retried: the next
round is the retry.

`Poller.states(now)` is the only thing the painter reads: a tuple of frozen PanelStates, built under a lock
that the poller holds only to store a round's results, never while it waits on the network.
"""

from __future__ import annotations

import http.client
import json
import logging
import math
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from common.prometheus_panels import PanelSpec

log = logging.getLogger("source_prometheus")

MAX_BODY = 1 << 20  # a panel needs one number; an answer this big is a query that forgot to aggregate
STALE_ROUNDS = 3  # a value older than this many query intervals is shown as stale
IDLE_AFTER_S = 30.0  # with nobody drawing for this long (and 3 intervals), stop asking until someone draws
ANSWER_KINDS = ("value", "empty", "refused", "failed")
# What a panel shows: waiting (no answer yet), value, stale (the last value, too old), no_data (the query
# matches nothing), error (Prometheus refused the query), offline (no answer from Prometheus, never a value).
STATUSES = ("waiting", "value", "stale", "no_data", "error", "offline")
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # Prometheus is near: never via a proxy


@dataclass(frozen=True, slots=True)
class Answer:
    kind: str  # one of ANSWER_KINDS: refused is the query's fault, failed the server's or the network's
    value: float | None = None
    series: int = 0  # series returned; the first by labels is shown
    detail: str = ""  # why it is not a value: Prometheus' "errorType: error", or the network error


Fetch = Callable[[str], Answer]


@dataclass(frozen=True, slots=True)
class PanelState:
    status: str  # one of STATUSES
    values: tuple[float | None, ...]  # the last good value of each query; None: none yet, or that query empty
    history: tuple[tuple[float | None, ...], ...]  # per query, oldest first, one per round; None: a gap
    detail: str = ""  # for error, no_data and offline: why


_ERROR_TYPE = re.compile(r"^[a-z_]+: ")  # "bad_data: ", as parse_answer writes Prometheus' errorType
_WHERE = re.compile(r'^(invalid parameter "query": )?(\d+:\d+: )?')  # what and where, before the message


def short_reason(detail: str) -> str:
    """What a panel has room for: "parse error: unexpected ..." without errorType, parameter and position."""
    return _WHERE.sub("", _ERROR_TYPE.sub("", detail, count=1), count=1) or detail


def parse_answer(body: bytes) -> Answer:
    """The /api/v1/query JSON as an Answer; anything malformed is a failed answer, never an exception."""
    try:
        doc: Any = json.loads(body)
        if doc.get("status") != "success":
            return Answer("refused", detail=f"{doc.get('errorType', 'error')}: {doc.get('error', '?')}")
        kind, result = doc["data"]["resultType"], doc["data"]["result"]
        if kind == "scalar":
            samples = [result]
        elif kind == "vector":
            ordered = sorted(result, key=lambda series: sorted(series["metric"].items()))
            samples = [series["value"] for series in ordered]
        else:  # a range vector (`foo[5m]`) or a string: nothing to show as one number
            return Answer("refused", detail=f"the query gives a {kind}; a panel needs one number")
        if not samples:
            return Answer("empty", detail="no series match")
        value = float(samples[0][1])  # Prometheus sends values as strings, "NaN" and "+Inf" included
    except (ValueError, KeyError, TypeError, IndexError, AttributeError) as error:
        return Answer("failed", detail=f"malformed answer ({error!r}): {body[:80]!r}")
    if not math.isfinite(value):
        return Answer("empty", series=len(samples), detail=f"the value is {value}")
    return Answer("value", value, len(samples))


def _network_reason(error: BaseException) -> str:
    reason = error.reason if isinstance(error, urllib.error.URLError) else error
    if isinstance(reason, TimeoutError):
        return "timed out"
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror.lower()
    return str(reason) or type(reason).__name__


def query(url: str, expr: str, timeout_s: float) -> Answer:
    """Evaluate `expr` now at Prometheus `url`; gives up after timeout_s without an answer (connect or read)."""
    request = f"{url}/api/v1/query?{urllib.parse.urlencode({'query': expr})}"
    try:
        with _OPENER.open(request, timeout=timeout_s) as response:
            body = response.read(MAX_BODY + 1)
    except urllib.error.HTTPError as error:  # Prometheus explains 400 (bad_data) and 422 (execution) in JSON
        with error:
            answer = parse_answer(error.read(MAX_BODY))
        if error.code in (400, 422) and answer.kind == "refused":
            return answer
        return Answer("failed", detail=f"HTTP {error.code} {error.reason}")
    except (OSError, http.client.HTTPException, ValueError) as error:
        return Answer("failed", detail=_network_reason(error))
    if len(body) > MAX_BODY:
        return Answer("refused", detail="the answer is over 1 MiB; aggregate the query (sum, max...)")
    return parse_answer(body)


@dataclass
class _Record:
    """One panel's results so far; written by the polling round only, under the poller's lock."""

    history: tuple[deque[float | None], ...]
    outcome: str = ""  # the last round's: "" (none yet) or one of ANSWER_KINDS
    detail: str = ""
    values: tuple[float | None, ...] = ()
    good_at: float | None = None  # clock time of the last value
    logged: set[str] = field(default_factory=set)  # problems already logged, so each is logged once


class Poller:
    """Runs every panel's queries each `interval_s`, in its own thread (start) or when due (poll_if_due)."""

    def __init__(
        self,
        panels: Sequence[PanelSpec],
        fetch: Fetch,
        interval_s: float,
        history: int,
        clock: Callable[[], float] = time.monotonic,
        where: str = "Prometheus",
    ) -> None:
        self.panels, self.interval_s, self.where = tuple(panels), interval_s, where
        self._fetch, self._clock = fetch, clock
        self._records = [_Record(tuple(deque(maxlen=history) for _ in p.queries)) for p in self.panels]
        self._lock = threading.Lock()
        self._failing: str | None = None  # the server's last failure, while it lasts
        self._next_round: float | None = None
        self._thread: threading.Thread | None = None
        self._stop, self._wake = threading.Event(), threading.Event()
        self._wanted_at = clock()
        self._idle_after = max(IDLE_AFTER_S, STALE_ROUNDS * interval_s)

    def poll_once(self) -> None:
        """One round: every query once. After the first failed answer the rest of the round is not asked,
        so a stopped or hung Prometheus costs one timeout per round, not one per query."""
        failure: Answer | None = None
        for spec, record in zip(self.panels, self._records, strict=True):
            answers = []
            for expr in spec.queries:
                answer = failure or self._fetch(expr)
                failure = answer if answer.kind == "failed" else failure
                answers.append(answer)
            self._store(spec, record, answers, self._clock())
        self._log_server(failure)

    def _store(self, spec: PanelSpec, record: _Record, answers: list[Answer], now: float) -> None:
        worst = next((a for kind in ("refused", "failed") for a in answers if a.kind == kind), None)
        outcome = worst or answers[0]
        with self._lock:
            record.outcome, record.detail = outcome.kind, outcome.detail
            for history, answer in zip(record.history, answers, strict=True):
                history.append(answer.value if outcome.kind == "value" else None)
            if outcome.kind == "value":
                record.values, record.good_at = tuple(a.value for a in answers), now
        for expr, answer in zip(spec.queries, answers, strict=True):
            self._log_panel(spec, record, expr, answer)

    def _log_panel(self, spec: PanelSpec, record: _Record, expr: str, answer: Answer) -> None:
        """Each problem once while it lasts (the display shows it all along); the full error and PromQL go here."""
        if answer.kind == "value":  # problems that went away are worth a line again if they come back
            record.logged -= {key for key in record.logged if not key.startswith("series")}
        problems = {
            "refused": (logging.ERROR, f"Prometheus refused the query: {answer.detail}"),
            "empty": (logging.WARNING, f"no data ({answer.detail})"),
        }
        if answer.kind in problems:
            key = f"{answer.kind} {expr} {answer.detail}"
            level, text = problems[answer.kind]
        elif answer.series > 1:
            key, level, text = f"series {expr}", logging.WARNING, f"{answer.series} series; the first is shown"
        else:
            return
        if key not in record.logged:
            record.logged.add(key)
            log.log(level, "%s (%r): %s; query: %s", spec.where, spec.title, text, expr)

    def _log_server(self, failure: Answer | None) -> None:
        if failure is not None and self._failing is None:
            log.warning("%s: %s; panels keep their last values and turn stale", self.where, failure.detail)
        elif failure is None and self._failing is not None:
            log.info("%s answers again", self.where)
        self._failing = failure.detail if failure else None

    def states(self, now: float) -> tuple[PanelState, ...]:
        with self._lock:
            return tuple(self._state(record, now) for record in self._records)

    def _state(self, record: _Record, now: float) -> PanelState:
        history = tuple(tuple(h) for h in record.history)
        values = record.values or tuple(None for _ in record.history)
        if record.outcome == "refused":
            return PanelState("error", values, history, record.detail)
        if record.outcome == "empty":
            return PanelState("no_data", values, history, record.detail)
        if record.good_at is None:
            status = "offline" if record.outcome == "failed" else "waiting"
            return PanelState(status, values, history, record.detail)
        stale = now - record.good_at > STALE_ROUNDS * self.interval_s
        return PanelState("stale" if stale else "value", values, history, record.detail if stale else "")

    def poll_if_due(self, now: float) -> None:
        """Without the thread (tests, snapshots): a round when the interval has passed since the last."""
        if self._next_round is None or now >= self._next_round:
            self.poll_once()
            self._next_round = max((self._next_round or now) + self.interval_s, now)

    def wanted(self) -> None:
        """Someone draws: keep asking (the thread stops asking after IDLE_AFTER_S without a call)."""
        self._wanted_at = self._clock()
        self._wake.set()

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="prometheus-poller", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            if self._clock() - self._wanted_at > self._idle_after:
                self._wake.wait()  # wanted() or close()
                continue
            started = self._clock()
            try:
                self.poll_once()
            except Exception:  # a bug here must not freeze the dashboard silently: say so, try next round
                log.exception("%s: a query round failed", self.where)
            self._stop.wait(max(0.0, started + self.interval_s - self._clock()))

    def close(self, timeout_s: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
