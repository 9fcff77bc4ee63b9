"""A training loop with its own step, for where `model.fit` cannot go."""

import time

import keras
import numpy as np

from core.training.differential_privacy import DifferentialPrivacy


class StepTrainer:
    """Trains a Keras model with a training step of its own, on a `tf.distribute` strategy.

    Two cases need it. Keras 3's `model.fit` fails under
    `MultiWorkerMirroredStrategy` (keras-team/keras#20585), while a step run
    with `strategy.run` over `strategy.experimental_distribute_dataset`
    works; and DP-SGD needs every example's gradient, clipped, before the
    batch's gradients are summed and noised. The loop runs the same Keras
    callbacks as `fit` (early stopping, checkpoints) and returns the same
    history, so the estimator cannot tell the two apart.

    Validation losses are all-reduced across workers, so every worker makes
    the same early-stopping decision and none waits forever for the others.

    Args:
        model: a Keras model built in `strategy`'s scope.
        loss: a Keras loss whose `call(y_true, y_pred)` gives one loss per row.
        optimizer: a Keras optimizer made in `strategy`'s scope.
        strategy: a `tf.distribute.Strategy`, or None for the default one.
        privacy: a `DifferentialPrivacy`, or None for plain training.
        seed: seeds the shuffling and the privacy noise.
        verbose: 1 prints one line per epoch.
    """

    def __init__(self, model, loss, optimizer, strategy=None, privacy=None, seed=0, verbose=0):
        import tensorflow as tf

        self.model = model
        self.loss = loss
        self.optimizer = optimizer
        self.strategy = strategy or tf.distribute.get_strategy()
        self.privacy = privacy
        self.seed = int(seed)
        self.verbose = verbose
        if privacy is not None and self.strategy.num_replicas_in_sync > 1:
            raise ValueError(
                "`privacy` trains on one device; it cannot be combined with a distribution "
                f"over {self.strategy.num_replicas_in_sync} replicas."
            )
        if privacy is not None and not isinstance(privacy, DifferentialPrivacy):
            raise TypeError(f"`privacy` must be a DifferentialPrivacy. Received: {privacy!r}")

    def fit(
        self,
        x,
        y,
        sample_weight,
        validation,
        epochs,
        batch_size,
        callbacks=(),
        initial_epoch=0,
    ):
        """Trains for `epochs - initial_epoch` epochs, or fewer if a callback stops training.

        Args:
            x: inputs (array or nested arrays), or a batched `tf.data.Dataset`
                of `(x, y)` or `(x, y, sample_weight)` (then `y` and
                `sample_weight` are None).
            y: targets in the loss' format.
            sample_weight: per-row weights, or None.
            validation: `(x, y, w)`, a batched dataset, or None.
            epochs: index of the last epoch plus one.
            batch_size: global rows per step (ignored for a dataset).
            callbacks: Keras callbacks, called as `model.fit` calls them.
            initial_epoch: the first epoch to run (after a resume).

        Returns:
            The history dict: `loss` and, with validation, `val_loss`, per epoch run.
        """
        import tensorflow as tf

        train = self._distributed(x, y, sample_weight, batch_size, shuffle=True)
        val = (
            None
            if validation is None
            else self._distributed(*_triple(validation), batch_size, shuffle=False)
        )
        with self.strategy.scope():
            if not self.optimizer.built:
                self.optimizer.build(self.model.trainable_variables)
            if self.privacy is not None:
                self._noise_seed = keras.random.SeedGenerator(self.seed)
        train_step = tf.function(self._train_step)
        eval_step = tf.function(self._eval_step)
        steps = None
        if not isinstance(x, tf.data.Dataset):
            # DP-SGD drops the last, smaller batch (see `_distributed`).
            steps = len(y) // batch_size if self.privacy is not None else -(-len(y) // batch_size)
        # Callbacks that move the learning rate find the optimizer where `fit` leaves it.
        self.model.optimizer = self.optimizer
        callback_list = keras.callbacks.CallbackList(
            list(callbacks), model=self.model, epochs=epochs, steps=steps
        )
        history = {"loss": []} if val is None else {"loss": [], "val_loss": []}
        self.model.stop_training = False
        callback_list.on_train_begin()
        for epoch in range(initial_epoch, epochs):
            if self.model.stop_training:
                break
            started = time.perf_counter()
            callback_list.on_epoch_begin(epoch)
            logs = {"loss": self._run(train_step, train, callback_list)}
            if val is not None:
                logs["val_loss"] = self._run(eval_step, val)
            for key, value in logs.items():
                history[key].append(value)
            callback_list.on_epoch_end(epoch, logs)
            if self.verbose:
                shown = " - ".join(f"{k}: {v:.4f}" for k, v in logs.items())
                print(
                    f"Epoch {epoch + 1}/{epochs} - {time.perf_counter() - started:.1f}s - {shown}"
                )
        callback_list.on_train_end()
        return history

    # ---------------------------------------------------------------- data
    def _distributed(self, x, y, sample_weight, batch_size, shuffle):
        import tensorflow as tf

        if isinstance(x, tf.data.Dataset):
            dataset = x.map(_with_weights)
        else:
            n_rows = len(y)
            weights = (
                np.ones(n_rows, np.float32)
                if sample_weight is None
                else np.asarray(sample_weight, np.float32)
            )
            dataset = tf.data.Dataset.from_tensor_slices((x, y, weights))
            if shuffle:
                dataset = dataset.shuffle(n_rows, seed=self.seed, reshuffle_each_iteration=True)
            # DP-SGD's accounting assumes every step sees a batch of the same expected size.
            dataset = dataset.batch(batch_size, drop_remainder=shuffle and self.privacy is not None)
        options = tf.data.Options()
        # Every worker reads the same rows in the same order and keeps its own share.
        options.experimental_distribute.auto_shard_policy = (
            tf.data.experimental.AutoShardPolicy.DATA
        )
        return self.strategy.experimental_distribute_dataset(dataset.with_options(options))

    def _run(self, step, dataset, callback_list=None):
        """Runs `step` over a distributed dataset; returns the weighted mean loss per row.

        With `callback_list` (training), each batch starts with its
        `on_train_batch_begin` and ends with its `on_train_batch_end`, and a
        callback that sets `stop_training` ends the epoch there, as in Keras' `fit`.
        """
        totals = np.zeros(2)
        for index, batch in enumerate(dataset):
            if callback_list is not None:
                callback_list.on_train_batch_begin(index)
            totals += step(batch).numpy()
            if callback_list is not None:
                callback_list.on_train_batch_end(index)
                if self.model.stop_training:
                    break
        return float(totals[0] / max(totals[1], 1.0))

    # --------------------------------------------------------------- steps
    def _train_step(self, batch):
        import tensorflow as tf

        replica_step = self._private_step if self.privacy is not None else self._replica_step
        per_replica = self.strategy.run(replica_step, args=batch)
        return self.strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica, axis=None)

    def _eval_step(self, batch):
        import tensorflow as tf

        def replica_step(x, y, weights):
            losses = self._row_losses(x, y, weights, training=False)
            return _loss_sum_and_rows(losses)

        per_replica = self.strategy.run(replica_step, args=batch)
        return self.strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica, axis=None)

    def _row_losses(self, x, y, weights, training):
        import tensorflow as tf

        predictions = self.model(x, training=training)
        losses = tf.cast(self.loss.call(y, predictions), tf.float32) * weights
        # Per-token losses (a language model) become one loss per row, as Keras averages them.
        if losses.shape.rank > 1:
            losses = tf.reduce_mean(losses, axis=list(range(1, losses.shape.rank)))
        return losses

    def _replica_step(self, x, y, weights):
        import tensorflow as tf

        # The optimizer sums gradients over replicas, so each divides by the global batch.
        global_rows = tf.cast(tf.shape(weights)[0] * self.strategy.num_replicas_in_sync, tf.float32)
        with tf.GradientTape() as tape:
            losses = self._row_losses(x, y, weights, training=True)
            loss = tf.reduce_sum(losses) / global_rows
            scaled = (
                self.optimizer.scale_loss(loss) if hasattr(self.optimizer, "scale_loss") else loss
            )
        variables = self.model.trainable_variables
        gradients = tape.gradient(scaled, variables)
        self.optimizer.apply_gradients(zip(gradients, variables, strict=True))
        return _loss_sum_and_rows(losses)

    def _private_step(self, x, y, weights):
        """DP-SGD: per-example gradients clipped to `l2_norm_clip`, summed, noised."""
        import tensorflow as tf

        clip = self.privacy.l2_norm_clip
        variables = self.model.trainable_variables
        with tf.GradientTape() as tape:
            losses = self._row_losses(x, y, weights, training=True)
        # One gradient per row in a single vectorised backward pass.
        jacobians = tape.jacobian(losses, variables, experimental_use_pfor=True)
        rows = tf.shape(losses)[0]
        jacobians = [
            tf.zeros(tf.concat([[rows], tf.shape(v)], 0), v.dtype) if j is None else j
            for j, v in zip(jacobians, variables, strict=True)
        ]
        squared_norms = tf.add_n(
            [tf.reduce_sum(tf.reshape(tf.square(j), [rows, -1]), axis=1) for j in jacobians]
        )
        scale = tf.minimum(1.0, clip / (tf.sqrt(squared_norms) + 1e-12))
        expected_rows = tf.cast(rows, tf.float32)
        gradients = []
        for jacobian, variable in zip(jacobians, variables, strict=True):
            factor = tf.reshape(
                scale, tf.concat([[rows], tf.ones([tf.rank(jacobian) - 1], tf.int32)], 0)
            )
            summed = tf.reduce_sum(jacobian * tf.cast(factor, jacobian.dtype), axis=0)
            noise = keras.random.normal(
                variable.shape,
                stddev=self.privacy.noise_multiplier * clip,
                seed=self._noise_seed,
                dtype=summed.dtype,
            )
            gradients.append((summed + noise) / tf.cast(expected_rows, summed.dtype))
        self.optimizer.apply_gradients(zip(gradients, variables, strict=True))
        return _loss_sum_and_rows(losses)


def _loss_sum_and_rows(losses):
    import tensorflow as tf

    return tf.stack([tf.reduce_sum(losses), tf.cast(tf.shape(losses)[0], tf.float32)])


def _with_weights(*batch):
    """Gives every dataset element the form `(x, y, sample_weight)`."""
    import tensorflow as tf

    if len(batch) == 1 and isinstance(batch[0], tuple):
        batch = batch[0]
    if len(batch) == 3:
        return batch
    x, y = batch
    return x, y, tf.ones(tf.shape(y)[:1], tf.float32)


def _triple(validation):
    import tensorflow as tf

    if isinstance(validation, tf.data.Dataset):
        return validation, None, None
    if len(validation) == 2:
        return (*validation, None)
    return validation
