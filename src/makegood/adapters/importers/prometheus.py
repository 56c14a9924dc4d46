"""Prometheus: outage windows from a ``query_range`` response of ``up`` or ``probe_success``.

Documented format (``GET /api/v1/query_range``)::

    {"status": "success", "data": {"resultType": "matrix",
      "result": [{"metric": {"__name__": "up", "job": "mail", "instance": "..."},
                  "values": [[1665815400, "1"], [1665815460, "0"], ...]}]}}

Sample times are Unix seconds, values are strings. A run of ``"0"`` samples is an outage from its
first zero to the first following non-zero sample. A missing sample is not an outage: if the
next sample is more than one step after the last zero, the outage ends one step after that zero.
A run that reaches the last sample of the series is still open. The step (the resolution: no
window edge is known better than that) is the smallest distance between two samples of the
response, or ``step`` in the ``[prometheus]`` table of the map file. ``NaN`` is a missing sample.

A series is named by one of its labels (``job`` unless the map file's ``[prometheus]`` table says
``label = "instance"`` or another); several series with the same name (the instances of one job)
are merged later, so the name is down whenever any of its series is.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from itertools import pairwise
from pathlib import Path
from typing import Any

from makegood.adapters.importers._common import array, load_json, mapping, unix_instant
from makegood.domain.errors import IncidentError
from makegood.domain.timeline import SourceWindow

KIND = "prometheus"


def read(path: Path, *, label: str = "job", step: timedelta | None = None) -> list[SourceWindow]:
    data = load_json(path, what="a Prometheus query_range response")
    return parse(data, file=str(path), label=label, step=step)


def _selector(metric: dict[str, Any]) -> str:
    name = str(metric.get("__name__", ""))
    labels = ",".join(f'{k}="{v}"' for k, v in sorted(metric.items()) if k != "__name__")
    return f"{name}{{{labels}}}"


def parse(data: Any, *, file: str, label: str = "job", step: timedelta | None = None
          ) -> list[SourceWindow]:
    body = mapping(data, file=file, field="status", what="a query_range response")
    if body.get("status") == "error":
        raise IncidentError(f"the query failed: {body.get('errorType', '')} {body.get('error', '')}".strip(),
                            file=file, field="status")
    if body.get("status") != "success" or "data" not in body:
        raise IncidentError("not a Prometheus query_range response: expected "
                            "{\"status\": \"success\", \"data\": {...}}", file=file)
    payload = mapping(body["data"], file=file, field="data", what="the data object")
    if payload.get("resultType") != "matrix":
        raise IncidentError(f"resultType is {payload.get('resultType')!r}, not 'matrix': export a "
                            "range query (query_range), not an instant query", file=file,
                            field="data.resultType")
    result = array(payload.get("result"), file=file, field="data.result", what="a list of series")

    series: list[tuple[str, str, list[tuple[datetime, bool | None, str]]]] = []
    for i, raw in enumerate(result):
        field = f"data.result[{i}]"
        entry = mapping(raw, file=file, field=field, what="a series")
        metric = mapping(entry.get("metric", {}), file=file, field=f"{field}.metric", what="labels")
        name = str(metric[label]) if metric.get(label) not in (None, "") else _selector(metric)
        values = array(entry.get("values"), file=file, field=f"{field}.values", what="a list of samples")
        samples: dict[datetime, tuple[bool | None, str]] = {}
        for j, pair in enumerate(values):
            sfield = f"{field}.values[{j}]"
            if not isinstance(pair, list) or len(pair) != 2:
                raise IncidentError("a sample must be [time, \"value\"]", file=file, field=sfield)
            when = unix_instant(pair[0], file=file, field=sfield)
            samples[when] = (_down(pair[1], file=file, field=sfield), sfield)
        ordered = [(when, down, sfield) for when, (down, sfield) in sorted(samples.items())]
        series.append((name, field, ordered))

    resolution = step or _infer_step(series)
    windows: list[SourceWindow] = []
    for name, field, ordered_samples in series:
        windows.extend(_runs(name, ordered_samples, resolution, file=file, field=field))
    return windows


def _down(value: Any, *, file: str, field: str) -> bool | None:
    """True for a zero sample, False for any other number, None for NaN (a missing sample)."""
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise IncidentError(f"sample value {value!r} is not a number", file=file, field=field) from None
    if number.is_nan():
        return None
    return number == 0


def _infer_step(series: list[tuple[str, str, list[tuple[datetime, bool | None, str]]]]
                ) -> timedelta | None:
    gaps = [b[0] - a[0] for _, _, s in series for a, b in pairwise(s)]
    return min(gaps) if gaps else None


def _runs(name: str, samples: list[tuple[datetime, bool | None, str]], step: timedelta | None,
          *, file: str, field: str) -> list[SourceWindow]:
    windows: list[SourceWindow] = []
    start: datetime | None = None
    last: datetime | None = None
    where = f"{file}, {field}"

    def finish(end: datetime | None) -> None:
        assert start is not None
        windows.append(SourceWindow(source=KIND, name=name, start=start, end=end, where=where))

    for when, down, _ in samples:
        if start is not None and last is not None:
            if step is None:
                raise IncidentError("cannot tell the step from a single sample; set step in the "
                                    "[prometheus] table of the map file", file=file, field=field)
            if down is None or when - last > step:
                finish(last + step)  # a missing sample is not an outage
                start = None
            elif not down:
                finish(when)
                start = None
        if down:
            if start is None:
                start = when
            last = when
    if start is not None:
        finish(None)
    return windows
