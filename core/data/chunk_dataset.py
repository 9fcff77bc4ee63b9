"""A `tf.data` pipeline that streams arrays encoded chunk by chunk, shuffled in a bounded buffer."""

import itertools

import numpy as np

from core.data.model_inputs import concatenate_rows, count_rows, take_rows


def shuffled_batches(arrays, batch_size, shuffle_rows, rng):
    """Batches of rows drawn at random from a bounded buffer fed by a stream of chunks.

    Each chunk joins the buffer; the buffer is shuffled and every full batch
    beyond `shuffle_rows` rows is handed out, so a row leaves at a random time
    among the rows around it. The buffer holds at most
    `shuffle_rows + batch_size - 1` rows between chunks, plus one chunk while
    one is being added. At the end of the stream the rest is shuffled and
    handed out, the last batch possibly smaller.

    Args:
        arrays: iterable of tuples, each tuple one chunk of arrays (or dicts
            of named arrays, such as a model's input) that share their rows.
        batch_size: rows per batch.
        shuffle_rows: rows kept back in the buffer; 0 only shuffles within
            each chunk.
        rng: `numpy.random.Generator`.

    Yields:
        Tuples of arrays of `batch_size` rows (the last one may have fewer).
    """
    pool = None
    for chunk in arrays:
        if count_rows(chunk[0]) == 0:
            continue
        pool = chunk if pool is None else tuple(map(_concatenate, pool, chunk))
        n_pool = count_rows(pool[0])
        n_out = (n_pool - shuffle_rows) // batch_size * batch_size
        if n_out <= 0:
            continue
        pool = _shuffled(pool, rng)
        yield from _batches(pool, n_out, batch_size)
        # A copy (indexing by an array), so the rows handed out are freed with their batches.
        pool = tuple(take_rows(a, np.arange(n_out, n_pool)) for a in pool)
    if pool is not None and count_rows(pool[0]):
        pool = _shuffled(pool, rng)
        yield from _batches(pool, count_rows(pool[0]), batch_size)


def _shuffled(pool, rng):
    order = rng.permutation(count_rows(pool[0]))
    return tuple(take_rows(a, order) for a in pool)


def _batches(pool, n_rows, batch_size):
    for start in range(0, n_rows, batch_size):
        yield tuple(take_rows(a, slice(start, start + batch_size)) for a in pool)


def _concatenate(first, second):
    return concatenate_rows([first, second])


def chunk_dataset(chunks, encode, signature, batch_size, shuffle_rows, seed, n_rows=None):
    """A batched, shuffled `tf.data.Dataset` over a table read chunk by chunk.

    The dataset calls `chunks(epoch)` afresh on every pass (every training
    epoch), encodes each chunk with `encode` and hands out batches through
    `shuffled_batches`, so it holds one chunk and the shuffle buffer at a
    time, never the whole table. The next batches are prepared while the
    model trains on the current one (`prefetch`).

    Args:
        chunks: `epoch -> iterable of chunks`; called once per pass, with
            0, 1, 2, ... (so it can read in a different order every epoch).
        encode: `chunk -> tuple of arrays` sharing their first dimension
            (e.g. `(inputs, targets, weights)`); may return empty arrays.
        signature: tuple of `tf.TensorSpec` (or of dicts of them), one per
            item `encode` returns, with a first dimension of None.
        batch_size: rows per batch.
        shuffle_rows: rows of the shuffle buffer.
        seed: integer seed of the shuffling; epoch `e` shuffles with `(seed, e)`.
        n_rows: rows per pass, when known: the dataset then declares its
            number of batches (so Keras knows the epoch length), and a pass
            that yields another number of batches fails.

    Returns:
        A `tf.data.Dataset` of tuples of batches.
    """
    import tensorflow as tf

    epochs = itertools.count()

    def generate():
        epoch = next(epochs)
        rng = np.random.default_rng([seed, epoch])
        encoded = (encode(chunk) for chunk in chunks(epoch))
        yield from shuffled_batches(encoded, batch_size, shuffle_rows, rng)

    data = tf.data.Dataset.from_generator(generate, output_signature=tuple(signature))
    if n_rows is not None:
        n_batches = -(-int(n_rows) // int(batch_size))
        data = data.apply(tf.data.experimental.assert_cardinality(n_batches))
    return data.prefetch(2)
