"""The contract of a task's input adapter: raw input of one kind in, named model arrays out."""

import abc


class InputAdapter(abc.ABC):
    """Reads one kind of raw input (a table, texts, images, ...) for a task's model.

    An adapter is the keras-hub "preprocessor" of a task: the part learned
    from raw data that turns what a user has into what the model takes. A
    task picks one per input kind; the template calls it in this order:
    `validate` the raw input (clear errors, nothing learned), `fit` on the
    validated training rows, `transform` validated rows into the model's
    arrays. `input_schema` describes the expected input for serving, export
    and model cards, and the whole fitted state is plain JSON
    (`get_state` / `from_state`), so a saved model needs no pickle.

    Subclasses set `input_kind` and implement every abstract method.
    """

    #: The raw input this adapter reads: "table", "texts", "images", "events", ...
    input_kind = None

    @abc.abstractmethod
    def validate(self, X, **context):
        """Checks raw input and returns it in the adapter's own row form.

        Args:
            X: raw input of this adapter's `input_kind`.
            **context: what else the input kind needs to be read.

        Returns:
            The validated rows, as `fit` and `transform` take them.

        Raises:
            TypeError, ValueError: naming the argument or column, what was
                expected and what was received.
        """

    @abc.abstractmethod
    def fit(self, rows):
        """Learns the preprocessing from validated training rows; returns self."""

    @abc.abstractmethod
    def transform(self, rows):
        """The model's input for validated rows: one array or a dict of named arrays."""

    def fit_transform(self, rows):
        """`fit(rows)` then `transform(rows)`."""
        return self.fit(rows).transform(rows)

    @abc.abstractmethod
    def input_schema(self):
        """The expected input, as JSON: columns and kinds, lengths, sizes."""

    @abc.abstractmethod
    def get_state(self):
        """The fitted state as a JSON-serialisable dict."""

    @classmethod
    @abc.abstractmethod
    def from_state(cls, state):
        """Rebuilds a fitted adapter from `get_state()` output."""
