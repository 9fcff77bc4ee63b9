import numbers

import keras

from core.layers.layer_checks import check_booleans, check_positive_integers


@keras.saving.register_keras_serializable(package="keras_domains")
class LSTMEncoder(keras.layers.Layer):
    """LSTM sequence encoder, optionally bidirectional.

    Masked time steps (from the Keras mask or the `mask` argument) are
    skipped: they neither update the state nor change the outputs at the
    unmasked steps.

    Args:
        units: int. Size of the LSTM state.
        bidirectional: bool. Whether to also read the sequence backwards and
            concatenate both directions.
        return_sequences: bool. Whether to return the output at every step
            instead of only the final one.
        dropout: float in `[0, 1)`. Dropout on the LSTM inputs.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Call arguments:
        inputs: float tensor of shape `(batch, seq_len, features)`.
        mask: optional boolean tensor of shape `(batch, seq_len)`.
        training: Python boolean, whether dropout is active.

    Returns:
        `(batch, seq_len, out_dim)` if `return_sequences`, else
        `(batch, out_dim)`, where `out_dim` is `units`, or `2 * units` when
        `bidirectional`. The mask is passed on only with `return_sequences`.

    Example:

    >>> layer = LSTMEncoder(4, bidirectional=True)
    >>> layer(np.zeros((2, 5, 3))).shape
    (2, 8)
    """

    def __init__(
        self,
        units,
        bidirectional=False,
        return_sequences=False,
        dropout=0.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        check_positive_integers(units=units)
        check_booleans(bidirectional=bidirectional, return_sequences=return_sequences)
        if not isinstance(dropout, numbers.Real) or not 0 <= dropout < 1:
            raise ValueError(f"`dropout` must be a float in [0, 1). Received: dropout={dropout}")
        self.units = int(units)
        self.bidirectional = bidirectional
        self.return_sequences = return_sequences
        self.dropout = float(dropout)
        self.supports_masking = True

        lstm = keras.layers.LSTM(
            self.units,
            return_sequences=return_sequences,
            dropout=self.dropout,
            dtype=self.dtype_policy,
            name="lstm",
        )
        if bidirectional:
            self.rnn = keras.layers.Bidirectional(
                lstm, merge_mode="concat", dtype=self.dtype_policy, name="bidirectional"
            )
        else:
            self.rnn = lstm

    @property
    def output_dim(self):
        """Width of the encoder output."""
        return 2 * self.units if self.bidirectional else self.units

    def build(self, inputs_shape):
        self.rnn.build(inputs_shape)

    def call(self, inputs, mask=None, training=None):
        return self.rnn(inputs, mask=mask, training=training)

    def compute_mask(self, inputs, mask=None):
        return mask if self.return_sequences else None

    def compute_output_shape(self, inputs_shape):
        if self.return_sequences:
            return (inputs_shape[0], inputs_shape[1], self.output_dim)
        return (inputs_shape[0], self.output_dim)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "units": self.units,
                "bidirectional": self.bidirectional,
                "return_sequences": self.return_sequences,
                "dropout": self.dropout,
            }
        )
        return config
