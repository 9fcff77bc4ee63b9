"""Patients' dated events in, visit sequences out: the input adapter of visit-sequence models."""

from typing import NamedTuple

import numpy as np
import pandas as pd

from core.preprocessing.event_sequence_encoder import EventSequenceEncoder
from core.preprocessing.input_adapter import InputAdapter
from domains.medical.event_table import EventTable, cutoff_days, history_before, read_events


class PatientHistory(NamedTuple):
    """Validated events: the table, its patients, and the events before each prediction time."""

    table: EventTable
    patients: pd.Index
    keep: np.ndarray
    days_before: np.ndarray


class PatientEventsAdapter(InputAdapter):
    """Reads an events table (one row per coded event) up to each patient's prediction time.

    `validate` parses the table (ids, times, codes, optional values) and
    keeps the events at or before each patient's prediction time; `fit`
    learns the code vocabulary and value scales (`EventSequenceEncoder`,
    unless a pretrained one is given); `transform` gives the model's named
    arrays, one row per patient in ascending id order.

    Args:
        sequence_encoder: an `EventSequenceEncoder`, fitted by `fit` unless it already is.
        patient_column, time_column, code_column: the events table's columns.
        value_column: a numeric value per event (lab results), or None.
        wide: whether the arrays include the linear path's sparse counts.
    """

    input_kind = "events"

    def __init__(
        self,
        sequence_encoder,
        patient_column="patient_id",
        time_column="date",
        code_column="code",
        value_column=None,
        wide=True,
    ):
        self.sequence_encoder = sequence_encoder
        self.patient_column = patient_column
        self.time_column = time_column
        self.code_column = code_column
        self.value_column = value_column
        self.wide = bool(wide)

    def read(self, X, name="X"):
        """The parsed `EventTable` of an events DataFrame, all events kept."""
        columns = (self.patient_column, self.time_column, self.code_column, self.value_column)
        return read_events(X, *columns, name=name)

    def validate(self, X, prediction_time=None, reset=False):
        """Parses the events and keeps each patient's history before the prediction time.

        Args:
            X: events DataFrame.
            prediction_time: None (every event), one time, or a Series of
                times indexed by patient id.
            reset: unused: events are read the same way in fit and predict.

        Returns:
            `PatientHistory(table, patients, keep, days_before)`.
        """
        table = self.read(X)
        patients = table.patient_index()
        keep, days_before = history_before(
            table, patients, cutoff_days(prediction_time, patients, table)
        )
        return PatientHistory(table, patients, keep, days_before)

    def fit(self, rows):
        """Learns the code vocabulary and value scales (unless pretrained); returns self."""
        if not self.sequence_encoder.is_fitted:
            table, _, keep, days_before = rows
            values = None if table.values is None else table.values[keep]
            self.sequence_encoder.fit(table.patients[keep], days_before, table.codes[keep], values)
        return self

    def sequences(self, rows, return_events=False):
        """The `EventSequences` of a validated history (with the events kept, if asked)."""
        table, patients, keep, days_before = rows
        return self.sequence_encoder.transform(
            table.patients[keep],
            days_before,
            table.codes[keep],
            None if table.values is None else table.values[keep],
            entity_order=patients,
            return_events=return_events,
        )

    def transform(self, rows):
        """The model's named arrays, one row per patient."""
        return self.sequences(rows).arrays(wide=self.wide)

    def input_schema(self):
        return {
            "events": {
                "patient_column": self.patient_column,
                "time_column": self.time_column,
                "code_column": self.code_column,
                "value_column": self.value_column,
                "known_codes": len(self.sequence_encoder.vocabulary_),
            }
        }

    def get_state(self):
        return {
            "sequence_encoder": self.sequence_encoder.get_state(),
            "columns": [self.patient_column, self.time_column, self.code_column],
            "value_column": self.value_column,
            "wide": self.wide,
        }

    @classmethod
    def from_state(cls, state):
        return cls(
            EventSequenceEncoder.from_state(state["sequence_encoder"]),
            *state["columns"],
            value_column=state["value_column"],
            wide=state["wide"],
        )
