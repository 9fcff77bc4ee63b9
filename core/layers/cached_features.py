import keras
import numpy as np


@keras.saving.register_keras_serializable(package="keras_domains")
class CachedFeatures(keras.layers.Layer):
    """Runs a frozen feature model, and serves the rows given to `cache` from memory.

    A frozen pretrained backbone gives a file the same features at every
    epoch, so a fit computes them once (`cache`) and every later batch whose
    rows were all cached is a lookup: the rows are keyed by their non-zero
    ids (an image's path code points). A batch with any row not cached runs
    the model. `clear` drops the cache; it is never saved with the model.

    Args:
        features: a frozen `keras.Model` from int32 rows `(batch, steps)`,
            zero-padded, to features `(batch, dim)`.
        **kwargs: Base layer keyword arguments, such as `name`.

    Call arguments:
        ids: int32 tensor `(batch, steps)`.

    Returns:
        Float tensor `(batch, dim)`, what `features(ids)` returns.

    Example:

    >>> layer = CachedFeatures(feature_model)
    >>> layer.cache(paths_as_codes)  # once per fit
    >>> layer(paths_as_codes[:32])  # a lookup
    >>> layer.clear()
    """

    def __init__(self, features, **kwargs):
        super().__init__(**kwargs)
        self.features = features
        self.features.trainable = False
        self._set_cache(None, None)

    def _set_cache(self, table, values):
        # Not tracked: the cache is a fit's working memory, not part of the model.
        object.__setattr__(self, "_table", table)
        object.__setattr__(self, "_values", values)

    def call(self, ids):
        if self._table is None:
            return self.features(ids)
        import tensorflow as tf

        index = self._table.lookup(row_keys(ids))
        return tf.cond(
            tf.reduce_all(index >= 0),
            lambda: tf.gather(self._values, tf.maximum(index, 0)),
            lambda: tf.cast(self.features(ids), self._values.dtype),
        )

    def cache(self, ids, batch_size=64):
        """Computes the features of every distinct row of `ids` once and keeps them.

        Args:
            ids: int array `(n, steps)`, zero-padded.
            batch_size: rows per call of the feature model.

        Returns:
            The number of distinct rows cached.
        """
        import tensorflow as tf

        ids = np.asarray(ids, np.int32)
        keys = row_keys(ids).numpy()
        keys, first = np.unique(keys, return_index=True)
        rows = ids[first]
        values = np.concatenate(
            [
                keras.ops.convert_to_numpy(self.features(rows[i : i + batch_size]))
                for i in range(0, len(rows), batch_size)
            ]
        )
        table = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(
                tf.constant(keys), tf.range(len(keys), dtype=tf.int64)
            ),
            default_value=-1,
        )
        self._set_cache(table, tf.constant(values))
        return len(keys)

    def clear(self):
        """Drops the cache: every call runs the feature model again."""
        self._set_cache(None, None)

    def compute_output_shape(self, ids_shape):
        return self.features.compute_output_shape(ids_shape)

    def get_config(self):
        config = super().get_config()
        config["features"] = keras.saving.serialize_keras_object(self.features)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["features"] = keras.saving.deserialize_keras_object(config["features"])
        return cls(**config)


def row_keys(ids):
    """One string per row: its non-zero ids joined by commas (padding ignored)."""
    import tensorflow as tf

    ragged = tf.RaggedTensor.from_tensor(tf.convert_to_tensor(ids), padding=0)
    return tf.strings.reduce_join(tf.strings.as_string(ragged), axis=1, separator=",")
