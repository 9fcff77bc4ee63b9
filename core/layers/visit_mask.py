"""Which visit slots of a padded visit sequence hold a visit."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="keras_domains")
class VisitMask(keras.layers.Layer):
    """True for each visit that has at least one code (code id 0 is padding).

    Call arguments:
        codes: integer tensor `(batch, num_visits, num_codes)`.

    Returns:
        Boolean tensor `(batch, num_visits)`.

    Example:

    >>> VisitMask()(np.array([[[4, 0], [0, 0]]], dtype="int32"))  # [[True, False]]
    """

    def call(self, codes):
        return ops.any(ops.not_equal(codes, 0), axis=-1)

    def compute_output_spec(self, codes):
        return keras.KerasTensor(codes.shape[:-1], dtype="bool")
