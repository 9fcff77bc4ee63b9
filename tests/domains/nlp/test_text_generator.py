import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from core.preprocessing.corpus_adapter import token_blocks
from domains.nlp import TextGenerator

ANIMALS = ["cat", "dog", "bird", "fox"]
PLACES = ["mat", "rug", "bed", "box"]


def corpus(n=240, seed=0):
    rng = np.random.default_rng(seed)
    return [f"the {rng.choice(ANIMALS)} sat on the {rng.choice(PLACES)} ." for _ in range(n)]


def tiny(**params):
    defaults = dict(
        vocabulary_size=60,
        max_length=16,
        embedding_dim=16,
        num_layers=1,
        num_heads=2,
        intermediate_dim=32,
        dropout=0.0,
        learning_rate=1e-2,
        learning_rate_schedule="constant",  # What the behaviour checks below were sized for.
        max_epochs=25,
        patience=25,
        random_state=0,
    )
    return TextGenerator(**{**defaults, **params})


@pytest.fixture(scope="module")
def generator():
    return tiny().fit(corpus())


def test_learns_the_corpus_and_beats_a_unigram_model(generator):
    held_out = corpus(40, seed=1)
    perplexity = generator.perplexity(held_out)
    unigram = generator.unigram_perplexity(held_out)
    # Two of the tokens of each line are a choice among 4, the rest are fixed.
    assert perplexity < 2.0 < unigram
    text = generator.generate("the cat", max_new_tokens=10, greedy=True)
    assert text.startswith("the cat sat on the ")
    assert text.rstrip(".").split()[-1] in PLACES


def test_cache_and_full_prefix_give_the_same_text(generator):
    for kwargs in ({"greedy": True}, {"top_k": 3, "seed": 5}, {"top_p": 0.9, "seed": 1}):
        cached = generator.generate("the dog", max_new_tokens=40, **kwargs)
        full = generator.generate("the dog", max_new_tokens=40, use_cache=False, **kwargs)
        assert cached == full


def test_long_generation_runs_past_the_context(generator):
    # The prompt alone is longer than the 16-token context.
    text = generator.generate("the cat sat on the mat . " * 3, max_new_tokens=30, seed=0)
    assert text.startswith("the cat sat on the mat")


def test_min_new_tokens_holds_back_the_end_of_text(generator):
    short = generator.generate("the cat", max_new_tokens=30, greedy=True)
    longer = generator.generate("the cat", max_new_tokens=30, min_new_tokens=12, greedy=True)
    assert len(generator.tokenizer_.encode_ids(longer)) >= 2 + 12
    assert len(longer) > len(short)


def test_seed_makes_sampling_reproducible(generator):
    first = generator.generate("the", max_new_tokens=8, temperature=1.5, seed=3)
    assert generator.generate("the", max_new_tokens=8, temperature=1.5, seed=3) == first
    samples = {
        generator.generate("the", max_new_tokens=8, temperature=2.0, seed=s) for s in range(8)
    }
    assert len(samples) > 1


def test_stop_string_cuts_the_text(generator):
    text = generator.generate("the cat", max_new_tokens=10, greedy=True, stop=" on")
    assert text == "the cat sat"
    assert generator.generate(["the dog", "the fox"], max_new_tokens=3, greedy=True)[1].startswith(
        "the fox"
    )


def test_unknown_characters_and_empty_prompts_work(generator):
    prompt_ids = generator.tokenizer_.encode_ids("日本 🙂")
    assert set(prompt_ids) == {generator.tokenizer_.unk_id}
    text = generator.generate("日本 🙂", max_new_tokens=5, greedy=True)
    assert text.startswith("[UNK]")
    assert isinstance(generator.generate("", max_new_tokens=5, greedy=True), str)


def test_perplexity_excludes_padding(generator):
    short, long = "the cat sat on the mat .", "the dog sat on the bed . " * 4
    separate = [generator._nll([t]) for t in (short, long)]
    together = generator._nll([short, long])
    # The short text's window is padded when read with a long one; padding adds nothing.
    np.testing.assert_allclose(together[0], separate[0][0] + separate[1][0], rtol=1e-5)
    assert together[1] == separate[0][1] + separate[1][1]
    assert together[1] == sum(len(generator._text_ids(t)) - 1 for t in (short, long))


def test_blocks_cover_every_target_once():
    ids = np.arange(1, 12)
    blocks = token_blocks(ids, 5)
    targets = blocks[:, 1:][blocks[:, 1:] != 0]
    np.testing.assert_array_equal(np.sort(targets), ids[1:])


def test_save_and_load_generate_the_same(generator, tmp_path):
    loaded = TextGenerator.load(generator.save(tmp_path / "generator.kdm"))
    assert loaded.generate("the bird", max_new_tokens=8, greedy=True) == generator.generate(
        "the bird", max_new_tokens=8, greedy=True
    )
    assert loaded.perplexity(["the fox sat on the box ."]) == pytest.approx(
        generator.perplexity(["the fox sat on the box ."]), rel=1e-5
    )


def test_bad_inputs_name_the_problem(generator):
    with pytest.raises(NotFittedError):
        tiny().generate("the")
    with pytest.raises(ValueError, match="`top_p` must be in"):
        generator.generate("the", top_p=0.0)
    with pytest.raises(ValueError, match="`top_p` must be in"):
        generator.generate("the", top_p=1.5)
    with pytest.raises(ValueError, match="`temperature` must be a number > 0"):
        generator.generate("the", temperature=0)
    with pytest.raises(ValueError, match="`max_new_tokens`"):
        generator.generate("the", max_new_tokens=-1)
    with pytest.raises(TypeError, match="`prompt` must be a string"):
        generator.generate(None)
    with pytest.raises(TypeError, match=r"`X\[1\]` must be a string"):
        tiny().fit(["the cat", 7])
    with pytest.raises(ValueError, match="`X` is empty"):
        tiny().fit([])
    with pytest.raises(ValueError, match="`max_length` must be"):
        tiny(max_length=2).fit(["the cat"])


def test_the_cosine_schedule_warms_up_then_anneals_to_the_last_epoch():
    from core.training import CosineSchedule

    cosine = TextGenerator(learning_rate_schedule="cosine")
    schedule = cosine._learning_rate_schedule(2e-3, 20, None)
    assert isinstance(schedule, CosineSchedule)
    assert (schedule.peak, schedule.horizon) == (2e-3, 20)
    assert TextGenerator()._learning_rate_schedule(1, 5, None) is None  # Constant by default.
    model = tiny(learning_rate_schedule="cosine", max_epochs=3, patience=3, validation_fraction=0.0)
    model.fit(corpus(64))
    # The last batch starts late in epoch 3 of 3: the rate has fallen most of the way to zero.
    assert model.n_epochs_ == 3
    assert float(model.model_.optimizer.learning_rate.numpy()) < 0.2 * model.learning_rate


def test_a_file_saved_before_the_corpus_adapter_loads(generator, tmp_path):
    from core.persistence.model_archive import read_archive, write_archive

    model_bytes, state, metadata = read_archive(generator.save(tmp_path / "new.kdm"))
    adapter = state["fitted"].pop("preprocessor")
    state["fitted"].update(tokenizer=adapter["tokenizer"], token_counts=adapter["token_counts"])
    write_archive(tmp_path / "old.kdm", model_bytes, state, metadata)
    loaded = type(generator).load(tmp_path / "old.kdm")
    texts = ["the battery lasts all day", "a short note"]
    assert loaded.perplexity(texts) == pytest.approx(generator.perplexity(texts), rel=1e-5)
    np.testing.assert_array_equal(loaded.token_counts_, generator.token_counts_)


def test_the_ngram_share_is_the_one_validation_prefers_and_is_used_everywhere(tmp_path):
    texts = corpus()
    # One epoch: the network is still weak, so the counted trigrams must take a share.
    weak = tiny(max_epochs=1).fit(texts)
    assert weak.ngram_model_ is not None and weak.ngram_weight_ > 0
    mixed = weak.perplexity(texts[:40])
    share = weak.ngram_weight_
    weak.ngram_weight_ = 0.0
    network = weak.perplexity(texts[:40])
    weak.ngram_weight_ = share
    assert mixed < network
    loaded = TextGenerator.load(weak.save(tmp_path / "mixed.kdm"))
    assert loaded.ngram_weight_ == share
    assert loaded.perplexity(texts[:40]) == pytest.approx(mixed, rel=1e-5)
    # Generation reads the mixture: with all the weight on the counts, a greedy step
    # takes the n-gram model's most likely continuation of "[SEP] [CLS] the cat".
    weak.ngram_weight_ = 1.0
    tok = weak.tokenizer_
    context = [tok.sep_id, tok.cls_id, *tok.encode_ids("the cat")]
    expected = tok.decode([int(np.argmax(weak.ngram_model_.probabilities(context[-2:])))])
    assert weak.generate("the cat", max_new_tokens=1, greedy=True) == f"the cat {expected}"


def test_ngram_order_zero_keeps_the_network_alone(tmp_path):
    alone = tiny(max_epochs=1, ngram_order=0).fit(corpus(60))
    assert alone.ngram_model_ is None and alone.ngram_weight_ == 0.0
    loaded = TextGenerator.load(alone.save(tmp_path / "alone.kdm"))
    assert loaded.ngram_model_ is None
    assert loaded.perplexity(corpus(5)) == pytest.approx(alone.perplexity(corpus(5)), rel=1e-5)
