"""Coded, dated events of many entities -> padded visit sequences and sparse history counts."""

import dataclasses

import numpy as np
import pandas as pd

#: Ids reach the model as int32.
MAX_ID = 2**31 - 1
PAD_ID = 0
UNKNOWN_ID = 1
MASK_ID = 2
RESERVED_IDS = 3
#: Summary features of the wide path, in feature-id order after the per-code ones.
SUMMARY_FEATURES = ("log1p_events", "log1p_visits", "log1p_days_since_last", "log1p_span_days")


@dataclasses.dataclass
class EventSequences:
    """Encoded entities, one row each, in `entities` order.

    Attributes:
        entities: the entity ids, `(n,)`.
        codes: int32 `(n, num_visits, num_codes)` code ids, oldest kept visit
            first, padded with 0 at the end.
        values: float32 standardized values of the same shape (0: no value),
            or None when the encoder has no values.
        times: float32 `(n, num_visits, 2)`: each visit's days before the
            reference time, and days since the entity's previous visit (0 for
            its first).
        wide_ids: int32 `(n, wide_slots)` sparse feature ids (see
            `EventSequenceEncoder.wide_feature_names`).
        wide_values: float32 `(n, wide_slots)` their values (0: padding).
        events: with `return_events`, per input event (in input order): `row`,
            `visit` and `position` (its slot; -1 when it was dropped as too
            old or past `max_codes_per_visit`), `code_id`, `recent` (within
            `recent_days`), `last_value` (the event whose value is the
            code's last-value feature) and `valued` (its value enters the
            code's trend feature); else None. `EventSequenceEncoder.event_shares`
            says which wide features each event takes part in.
    """

    entities: np.ndarray
    codes: np.ndarray
    values: np.ndarray | None
    times: np.ndarray
    wide_ids: np.ndarray
    wide_values: np.ndarray
    events: dict | None = None

    def arrays(self, wide=True):
        """The named inputs of a visit-sequence model, one row per entity.

        Args:
            wide: include the sparse history features.

        Returns:
            dict: `codes` (int32), `values` (when the encoder has values),
            `times`, and with `wide` (and wide slots) `wide_ids` (int32) and
            `wide_values`; each as the attribute of that name.
        """
        arrays = {"codes": self.codes.astype(np.int32, copy=False)}
        if self.values is not None:
            arrays["values"] = self.values.astype(np.float32, copy=False)
        arrays["times"] = self.times.astype(np.float32, copy=False)
        if wide and self.wide_ids.shape[1]:
            arrays["wide_ids"] = self.wide_ids.astype(np.int32, copy=False)
            arrays["wide_values"] = self.wide_values.astype(np.float32, copy=False)
        return arrays


class EventSequenceEncoder:
    """Turns events `(entity, days before reference, code[, value])` into model arrays.

    Events of an entity at the same time form a visit. Each entity becomes
    its most recent `max_visits` visits, oldest first, each at most
    `max_codes_per_visit` code ids (frequent codes first), with the visit's
    days before the reference time and days since the previous visit; and a
    sparse bag of history features over all its events (not only the kept
    visits): `log1p` of each code's count and of its count within
    `recent_days`; for codes with values, the last standardized value and
    its trend (least-squares slope per year, from two or more values); and
    four summaries (events, visits, days since the last event, days spanned).

    Codes seen fewer than `min_frequency` times in `fit` share the unknown
    id; id 0 is padding and id 2 is reserved for masking in pretraining.
    Values are standardized per code by the median and the inter-quartile
    range of that code's values in `fit`, and clipped. The whole state is
    plain JSON (`get_state` / `from_state`).

    Times are "days before the reference time" (the prediction time, or an
    entity's last event): the caller removes events after the reference,
    so nothing here can see them.

    Args:
        max_visits: most recent visits kept per entity.
        max_codes_per_visit: codes kept per visit.
        min_frequency: codes seen fewer times than this in `fit` are unknown.
        recent_days: window of the recent-count features.
        clip: standardized values are clipped to `[-clip, clip]`.
        max_wide_slots: most sparse features per entity (the largest kept).

    Attributes:
        vocabulary_: known codes, most frequent first (id = index + 3).
        value_stats_: `{code: [median, scale]}` for codes with values.
        num_visits_: visit slots per entity (`max_visits`, or fewer if no
            entity in `fit` had that many).
        num_codes_: code slots per visit (likewise).
        wide_slots_: sparse feature slots per entity.
        use_values_: whether values were given to `fit`.

    Example:
    >>> enc = EventSequenceEncoder(max_visits=8).fit(ids, days_before, codes)
    >>> seqs = enc.transform(ids, days_before, codes)
    >>> seqs.arrays()["codes"].shape  # (n_entities, enc.num_visits_, enc.num_codes_)
    """

    def __init__(
        self,
        max_visits=64,
        max_codes_per_visit=32,
        min_frequency=3,
        recent_days=365.0,
        clip=5.0,
        max_wide_slots=2048,
    ):
        for name, value in (
            ("max_visits", max_visits),
            ("max_codes_per_visit", max_codes_per_visit),
            ("min_frequency", min_frequency),
            ("max_wide_slots", max_wide_slots),
        ):
            if not isinstance(value, int | np.integer) or isinstance(value, bool) or value < 1:
                raise ValueError(f"`{name}` must be a positive integer. Received: {name}={value!r}")
        if not recent_days > 0:
            raise ValueError(
                f"`recent_days` must be positive. Received: recent_days={recent_days!r}"
            )
        if not clip > 0:
            raise ValueError(f"`clip` must be positive. Received: clip={clip!r}")
        self.max_visits = int(max_visits)
        self.max_codes_per_visit = int(max_codes_per_visit)
        self.min_frequency = int(min_frequency)
        self.recent_days = float(recent_days)
        self.clip = float(clip)
        self.max_wide_slots = int(max_wide_slots)

    # ------------------------------------------------------------------ fit
    @property
    def is_fitted(self):
        """Whether the code vocabulary is learned (by `fit`, or restored by `from_state`)."""
        return hasattr(self, "vocabulary_")

    def fit(self, entities, days_before, codes, values=None):
        """Learns the code vocabulary, value scales and the array sizes.

        Args:
            entities: entity id of each event (patient, account).
            days_before: days from each event to its entity's reference time (>= 0).
            codes: each event's code (converted to strings).
            values: optional numbers (NaN: the event has none).

        Returns:
            self.
        """
        entities, days_before, codes, values = _check_events(entities, days_before, codes, values)
        counts = pd.Series(codes).value_counts(sort=False)
        counts = counts[counts >= self.min_frequency]
        order = np.lexsort((counts.index.to_numpy(dtype=str), -counts.to_numpy()))
        self.vocabulary_ = [str(c) for c in counts.index.to_numpy()[order]]
        self.use_values_ = values is not None
        self.value_stats_ = {}
        if values is not None:
            frame = pd.DataFrame({"code": codes, "value": values}).dropna()
            frame = frame[frame["code"].isin(set(self.vocabulary_))]
            grouped = frame.groupby("code")["value"]
            # Near float64's limit (|value| ~ 1e308) the spread overflows; checked just below.
            with np.errstate(over="ignore", invalid="ignore"):
                stats = zip(
                    grouped.median().index,
                    grouped.median().to_numpy(),
                    grouped.quantile(0.25).to_numpy(),
                    grouped.quantile(0.75).to_numpy(),
                    grouped.std(ddof=0).fillna(0.0).to_numpy(),
                    strict=True,
                )
                for code, median, q1, q3, std in stats:
                    scale = (q3 - q1) / 1.349 if q3 > q1 else std if std > 0 else 1.0
                    if not (np.isfinite(median) and np.isfinite(scale)):
                        raise ValueError(
                            f"The values of code {code!r} (the value column) are too large to "
                            "standardize: their spread overflows float64. Expected finite "
                            "numbers of a sensible magnitude, or NaN for events without a value."
                        )
                    self.value_stats_[str(code)] = [float(median), float(scale)]
        self._index()
        if self.num_wide_features > MAX_ID:
            raise ValueError(
                f"The events have {len(self.vocabulary_)} distinct codes seen at least "
                f"min_frequency={self.min_frequency} times, too many for the model's int32 "
                f"ids (at most {(MAX_ID - len(SUMMARY_FEATURES)) // 4 - RESERVED_IDS}). "
                "Raise `min_frequency` or map codes to a coarser level."
            )
        self.num_visits_ = self.max_visits
        self.num_codes_ = self.max_codes_per_visit
        self.wide_slots_ = self.max_wide_slots
        rows, unique = _rows(entities, None)
        layout = self._layout(rows, days_before, self._code_ids(codes), len(unique))
        self.num_visits_ = int(min(self.max_visits, max(1, layout["n_visits"].max(initial=1))))
        self.num_codes_ = int(
            min(self.max_codes_per_visit, max(1, layout["position"].max(initial=0) + 1))
        )
        wide = self._wide_features(rows, days_before, self._code_ids(codes), values, layout)
        per_row = np.bincount(wide[0], minlength=len(unique)).max(initial=1)
        self.wide_slots_ = int(min(self.max_wide_slots, max(8, 8 * int(np.ceil(per_row / 8)))))
        return self

    def _index(self):
        self._ids = pd.Index(self.vocabulary_)
        n = self.vocabulary_size
        self._value_median = np.zeros(n)
        self._value_scale = np.ones(n)
        self._has_value = np.zeros(n, dtype=bool)
        for code, (median, scale) in self.value_stats_.items():
            code_id = self._ids.get_loc(code) + RESERVED_IDS
            self._value_median[code_id], self._value_scale[code_id] = median, scale
            self._has_value[code_id] = True
        return self

    @property
    def vocabulary_size(self):
        """Number of code ids, reserved ones included."""
        return RESERVED_IDS + len(self.vocabulary_)

    @property
    def num_wide_features(self):
        """Number of sparse feature ids (see `wide_feature_names`)."""
        return 4 * self.vocabulary_size + len(SUMMARY_FEATURES)

    def code_names(self):
        """Name of each code id: the codes, with `[PAD]`, `[UNK]` and `[MASK]` first."""
        return ["[PAD]", "[UNK]", "[MASK]", *self.vocabulary_]

    def wide_feature_names(self):
        """Name of each sparse feature id: `count:I50`, `recent_count:I50`, `last_value:HB`,
        `value_trend:HB`, then the summaries."""
        names = self.code_names()
        return (
            [f"count:{c}" for c in names]
            + [f"recent_count:{c}" for c in names]
            + [f"last_value:{c}" for c in names]
            + [f"value_trend:{c}" for c in names]
            + list(SUMMARY_FEATURES)
        )

    # ------------------------------------------------------------ transform
    def transform(
        self, entities, days_before, codes, values=None, entity_order=None, return_events=False
    ):
        """Encodes the events of each entity.

        Args:
            entities, days_before, codes, values: as in `fit` (values only
                when `fit` had them).
            entity_order: the entities to encode, in output order (entities
                without events get empty rows); default: the sorted unique
                entities of the events.
            return_events: also return where each event went (for explanations).

        Returns:
            An `EventSequences`.
        """
        entities, days_before, codes, values = _check_events(entities, days_before, codes, values)
        if values is not None and not self.use_values_:
            values = None
        if values is None and self.use_values_:
            values = np.full(len(codes), np.nan)
        rows, order = _rows(entities, entity_order)
        code_ids = self._code_ids(codes)
        layout = self._layout(rows, days_before, code_ids, len(order))
        n, v, c = len(order), self.num_visits_, self.num_codes_
        shift = np.maximum(layout["n_visits"] - v, 0)
        visit = layout["visit"] - shift
        keep = (visit >= 0) & (layout["position"] < c)
        sorted_idx = layout["order"]
        out_codes = np.zeros((n, v, c), dtype=np.int32)
        where = (layout["row"][keep], visit[keep], layout["position"][keep])
        out_codes[where] = code_ids[sorted_idx][keep]
        out_values = None
        if self.use_values_:
            standardized = self._standardize(code_ids, values)
            out_values = np.zeros((n, v, c), dtype=np.float32)
            out_values[where] = standardized[sorted_idx][keep]
        times = np.zeros((n, v, 2), dtype=np.float32)
        first = keep & (layout["position"] == 0)
        times[layout["row"][first], visit[first], 0] = layout["days"][first]
        times[layout["row"][first], visit[first], 1] = layout["gap"][first]
        wide = self._wide_features(rows, days_before, code_ids, values, layout)
        wide_ids, wide_values = self._pack_wide(*wide[:3], n)
        events = None
        if return_events:
            slot_visit = np.full(len(codes), -1)
            slot_position = np.full(len(codes), -1)
            slot_visit[sorted_idx[keep]] = visit[keep]
            slot_position[sorted_idx[keep]] = layout["position"][keep]
            events = {
                "row": rows,
                "visit": slot_visit,
                "position": slot_position,
                "code_id": code_ids,
                "recent": days_before <= self.recent_days,
                "last_value": wide[3],
                "valued": wide[4],
            }
        return EventSequences(
            entities=np.asarray(order),
            codes=out_codes,
            values=out_values,
            times=times,
            wide_ids=wide_ids,
            wide_values=wide_values,
            events=events,
        )

    def _code_ids(self, codes):
        ids = self._ids.get_indexer(codes)
        return np.where(ids < 0, UNKNOWN_ID, ids + RESERVED_IDS).astype(np.int64)

    def _standardize(self, code_ids, values):
        """Standardized values; 0 where an event has no value or its code had none in fit."""
        # A huge value overflows to +-inf here, which the clip below saturates.
        with np.errstate(over="ignore", invalid="ignore"):
            scaled = (values - self._value_median[code_ids]) / self._value_scale[code_ids]
        scaled = np.where(self._has_value[code_ids] & np.isfinite(values), scaled, 0.0)
        return np.clip(scaled, -self.clip, self.clip)

    def _layout(self, rows, days, code_ids, n_rows):
        """Sorts events by entity, time (oldest first), code; numbers visits and positions."""
        code_key = np.where(code_ids == UNKNOWN_ID, np.iinfo(np.int64).max, code_ids)
        order = np.lexsort((code_key, -days, rows))
        r, d = rows[order], days[order]
        n = len(order)
        new_row = np.r_[True, r[1:] != r[:-1]] if n else np.zeros(0, dtype=bool)
        new_visit = new_row | np.r_[True, d[1:] != d[:-1]] if n else new_row
        visit_global = np.cumsum(new_visit) - 1
        row_first_visit = np.maximum.accumulate(np.where(new_row, visit_global, 0))
        visit = visit_global - row_first_visit
        visit_start = np.maximum.accumulate(np.where(new_visit, np.arange(n), 0))
        position = np.arange(n) - visit_start
        row_visits = np.zeros(n_rows, dtype=np.int64)
        np.maximum.at(row_visits, r, visit + 1)
        # Gap to the previous visit of the same entity (dropped visits count too).
        visit_days = d[new_visit]
        visit_new_row = new_row[new_visit]
        gaps = np.where(visit_new_row, 0.0, np.r_[0.0, visit_days[:-1]] - visit_days)
        return {
            "order": order,
            "row": r,
            "days": d,
            "visit": visit,
            "position": position,
            "n_visits": row_visits[r],
            "n_visits_per_row": row_visits,
            "gap": gaps[visit_global],
            "new_visit": new_visit,
        }

    def _wide_features(self, rows, days, code_ids, values, layout):
        """Sparse `(row, feature id, value)` triples, and the last-value and valued event flags."""
        size = self.vocabulary_size
        last_value = np.zeros(len(code_ids), dtype=bool)
        valued = np.zeros(len(code_ids), dtype=bool)
        if not len(rows):
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, np.zeros(0), last_value, valued
        counts = pd.DataFrame({"row": rows, "code": code_ids, "recent": days <= self.recent_days})
        grouped = counts.groupby(["row", "code"], sort=False)
        total = grouped.size()
        recent = grouped["recent"].sum()
        recent = recent[recent > 0]
        parts = [
            (total.index.get_level_values(0), total.index.get_level_values(1), np.log1p(total)),
            (
                recent.index.get_level_values(0),
                size + recent.index.get_level_values(1),
                np.log1p(recent),
            ),
        ]
        if values is not None and self.use_values_:
            has = np.isfinite(values) & self._has_value[code_ids]
            # The sorted order puts an entity's latest visit last; keep its last value per code.
            sorted_idx = layout["order"]
            sorted_has = sorted_idx[has[sorted_idx]]
            frame = pd.DataFrame({"row": rows[sorted_has], "code": code_ids[sorted_has]})
            latest = sorted_has[~frame.duplicated(keep="last").to_numpy()]
            last_value[latest] = True
            standardized = self._standardize(code_ids, values)
            parts.append((rows[latest], 2 * size + code_ids[latest], standardized[latest]))
            valued = has
            parts.append(self._trends(rows[has], code_ids[has], days[has], standardized[has]))
        n_rows = len(layout["n_visits_per_row"])
        events = np.bincount(rows, minlength=n_rows)
        present = np.flatnonzero(events)
        newest = np.full(n_rows, np.inf)
        oldest = np.full(n_rows, -np.inf)
        np.minimum.at(newest, rows, days)
        np.maximum.at(oldest, rows, days)
        summaries = [
            np.log1p(events[present]),
            np.log1p(layout["n_visits_per_row"][present]),
            np.log1p(newest[present]),
            np.log1p(oldest[present] - newest[present]),
        ]
        for j, feature in enumerate(summaries):
            parts.append((present, np.full(len(present), 4 * size + j), feature))
        row_ids = np.concatenate([np.asarray(p[0], dtype=np.int64) for p in parts])
        feature_ids = np.concatenate([np.asarray(p[1], dtype=np.int64) for p in parts])
        feature_values = np.concatenate([np.asarray(p[2], dtype=np.float64) for p in parts])
        nonzero = feature_values != 0
        return row_ids[nonzero], feature_ids[nonzero], feature_values[nonzero], last_value, valued

    def _trends(self, rows, code_ids, days, standardized):
        """Least-squares slope per year of each (entity, code)'s standardized values."""
        frame = pd.DataFrame(
            {"row": rows, "code": code_ids, "x": -days / 365.25, "v": standardized}
        )
        frame["xx"], frame["xv"] = frame["x"] ** 2, frame["x"] * frame["v"]
        sums = frame.groupby(["row", "code"], sort=False).agg(
            n=("x", "size"), x=("x", "sum"), v=("v", "sum"), xx=("xx", "sum"), xv=("xv", "sum")
        )
        n = sums["n"].to_numpy(dtype=np.float64)
        variance = sums["xx"].to_numpy() - sums["x"].to_numpy() ** 2 / n
        covariance = sums["xv"].to_numpy() - sums["x"].to_numpy() * sums["v"].to_numpy() / n
        defined = (n >= 2) & (variance > 1e-9)
        slope = np.clip(covariance[defined] / variance[defined], -self.clip, self.clip)
        keys = sums.index[defined]
        return (
            keys.get_level_values(0),
            3 * self.vocabulary_size + keys.get_level_values(1),
            slope,
        )

    def event_shares(self, events):
        """Which wide features each event takes part in, for explanations.

        Args:
            events: the `events` dict of `transform(..., return_events=True)`.

        Returns:
            A list of `(feature_ids, members)` pairs, one per kind of feature:
            `feature_ids` `(n_events,)` is the feature the event would take
            part in and `members` `(n_events,)` whether it does. A feature's
            weight is shared evenly among its entity's member events.
        """
        size = self.vocabulary_size
        code_ids = events["code_id"]
        everyone = np.ones(len(code_ids), dtype=bool)
        shares = [
            (code_ids, everyone),
            (size + code_ids, events["recent"]),
            (2 * size + code_ids, events["last_value"]),
            (3 * size + code_ids, events["valued"]),
        ]
        return shares + [
            (np.full(len(code_ids), 4 * size + j), everyone) for j in range(len(SUMMARY_FEATURES))
        ]

    def _pack_wide(self, row_ids, feature_ids, feature_values, n_rows):
        """Pads each row's features into `wide_slots_` slots, keeping the largest values."""
        k = self.wide_slots_
        order = np.lexsort((feature_ids, -np.abs(feature_values), row_ids))
        r = row_ids[order]
        new_row = np.r_[True, r[1:] != r[:-1]] if len(r) else np.zeros(0, dtype=bool)
        start = np.maximum.accumulate(np.where(new_row, np.arange(len(r)), 0))
        slot = np.arange(len(r)) - start
        keep = slot < k
        ids = np.zeros((n_rows, k), dtype=np.int32)
        vals = np.zeros((n_rows, k), dtype=np.float32)
        ids[r[keep], slot[keep]] = feature_ids[order][keep]
        vals[r[keep], slot[keep]] = feature_values[order][keep]
        return ids, vals

    # ---------------------------------------------------------------- state
    def get_state(self):
        """Returns the fitted state as a JSON-serialisable dict."""
        return {
            "config": {
                "max_visits": self.max_visits,
                "max_codes_per_visit": self.max_codes_per_visit,
                "min_frequency": self.min_frequency,
                "recent_days": self.recent_days,
                "clip": self.clip,
                "max_wide_slots": self.max_wide_slots,
            },
            "vocabulary": list(self.vocabulary_),
            "value_stats": {k: list(v) for k, v in self.value_stats_.items()},
            "use_values": self.use_values_,
            "num_visits": self.num_visits_,
            "num_codes": self.num_codes_,
            "wide_slots": self.wide_slots_,
        }

    @classmethod
    def from_state(cls, state):
        """Rebuilds a fitted encoder from `get_state()` output."""
        encoder = cls(**state["config"])
        encoder.vocabulary_ = [str(c) for c in state["vocabulary"]]
        encoder.value_stats_ = {
            str(k): [float(v[0]), float(v[1])] for k, v in state["value_stats"].items()
        }
        encoder.use_values_ = bool(state["use_values"])
        encoder.num_visits_ = int(state["num_visits"])
        encoder.num_codes_ = int(state["num_codes"])
        encoder.wide_slots_ = int(state["wide_slots"])
        return encoder._index()


def _check_events(entities, days_before, codes, values):
    entities = np.asarray(entities)
    days_before = np.asarray(days_before, dtype=np.float64)
    codes = pd.Series(np.asarray(codes, dtype=object)).astype(str).to_numpy(dtype=object)
    lengths = {len(entities), len(days_before), len(codes)}
    if values is not None:
        values = np.asarray(values, dtype=np.float64)
        lengths.add(len(values))
    if len(lengths) != 1 or entities.ndim != 1 or days_before.ndim != 1:
        raise ValueError(
            "`entities`, `days_before`, `codes` (and `values`) must be 1-D and of equal length. "
            f"Received lengths {sorted(lengths)}."
        )
    if not np.isfinite(days_before).all() or (days_before < 0).any():
        bad = days_before[~(np.isfinite(days_before) & (days_before >= 0))][:3].tolist()
        raise ValueError(
            "`days_before` must be finite and >= 0 (events after the reference time must be "
            f"removed first). Received values such as {bad}."
        )
    return entities, days_before, codes, values


def _rows(entities, entity_order):
    """Row index of each event, and the entity of each row."""
    if entity_order is None:
        order = pd.Index(pd.unique(entities))
        try:
            order = order.sort_values()
        except TypeError as error:
            raise ValueError(
                f"Entity ids must be all numbers or all strings to be sorted: {error}"
            ) from None
    else:
        order = pd.Index(entity_order)
        if order.has_duplicates:
            raise ValueError("`entity_order` has duplicate entities.")
    rows = order.get_indexer(entities)
    if (rows < 0).any():
        missing = pd.unique(entities[rows < 0])[:5].tolist()
        raise ValueError(f"Events of entities not in `entity_order`: {missing}.")
    return rows.astype(np.int64), order.to_numpy()
