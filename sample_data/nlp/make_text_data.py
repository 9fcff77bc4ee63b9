"""Generate SYNTHETIC product reviews for text classification and pretraining.

No real reviews are used and nothing is downloaded: every review is put together by the
seeded template grammar below from small hand-written word lists. Each review has a true
sentiment (positive / negative), a topic (books, electronics, kitchen, movies) and 0-3
aspects (price, quality, delivery, service). Part of the sentiment signal depends on word
order: negation flips the polarity of the sentiment word that follows it ("not good",
"never disappointing"), and in contrast sentences the main clause decides ("the plot was
dull, but the actors were brilliant"). 5 % of the sentiment labels are flipped on purpose
(label noise). See README.md for the details.

Writes two files into the output folder:

* ``reviews.csv``: labelled reviews (columns text, sentiment, topic, aspects).
* ``corpus.txt``: unlabelled reviews from the same generator, one per line.

Usage::

    python sample_data/nlp/make_text_data.py --seed 0 --labelled 2000 --unlabelled 8000
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import numpy as np
import pandas as pd

DEFAULT_OUT = Path(__file__).resolve().parent

TOPICS = ("books", "electronics", "kitchen", "movies")
ASPECTS = ("price", "quality", "delivery", "service")

# Probabilities of the grammar. They were tuned so that unigram TF-IDF + logistic
# regression reaches about 83 % on sentiment and about 93 % on topic (see README.md).
P_LABEL_NOISE = 0.05  # share of sentiment labels flipped after the text is written
P_SHORT = 0.03  # very short review ("Great!"), 1-4 words, no topic noun
P_CONTRAST = 0.15  # main sentence is a contrast ("X, but Y"; "although X, Y")
P_NEGATION = 0.12  # a clause negates a word of the opposite polarity ("not bad" = positive)
P_SECOND_POLAR = 0.6  # a second sentiment sentence with the polarity of the review
P_COMPOUND = 0.3  # the second sentiment sentence has two clauses
P_MINOR_OPPOSITE = 0.06  # "my only complaint is that ..." (opposite polarity, marked)
P_NEUTRAL_CONTEXT = 0.10  # a sentiment word in a neutral context ("after a terrible week")
P_CROSS_TOPIC = 0.06  # a sentence with nouns of another topic ("I read it on my tablet")
P_TOPIC_FILLER = 0.7  # a neutral filler sentence is topic-specific ("I read it on the train")
P_TOPIC_ADJ = 0.15  # topic-specific sentiment word ("gripping", "laggy", "blunt")
P_INTENSIFIER = 0.35  # "very", "really", "absolutely" before an adjective
P_TYPO = 0.04  # one letter dropped, per word of 4+ letters (about 2 % of all words)
P_EMOJI = 0.02  # one emoji at the end of the review
P_LOWERCASE = 0.05  # whole review in lower case
P_CURLY_APOSTROPHE = 0.10  # typographic apostrophe in contractions
P_ASPECT_AGREES = 0.85  # aspect phrase has the same polarity as the review
N_ASPECTS_P = (0.45, 0.33, 0.16, 0.06)  # P(0, 1, 2, 3 aspects)
N_SENTENCES_P = (0.10, 0.25, 0.35, 0.30)  # P(1, 2, 3, 4 sentences) of a regular review
NOUN_SOURCE_P = (0.85, 0.10, 0.05)  # topic-specific noun, noun shared by 2 topics, generic
P_TOPIC_HEAD = 0.7  # "a good read" (books) rather than "a good purchase"
P_IDIOM = 0.08  # a fixed idiom ("I can't fault it"); never inside contrasts / minor remarks
P_OPENER = 0.12  # "honestly, ..." before the main sentence
P_EMOJI_AGREES = 0.85  # the emoji has the polarity of the review
MIN_WORDS, MAX_WORDS = 8, 60  # length of a regular review in words

# ---------------------------------------------------------------------------------------
# Word lists and templates. The lists are kept compact on purpose (one idea per line), so
# the formatter is switched off for this block.
# fmt: off

# Lists marked "ranked" are drawn with Zipf weights 1 / rank**exponent: the first words
# are common, the last ones rare (a handful of times in 2 000 reviews).
ZIPF_EXPONENT = 1.4  # sentiment words, verbs, feelings and intensifiers
NOUN_ZIPF_EXPONENT = 0.8  # topic nouns

# (noun, plural?) per topic, ranked.
TOPIC_NOUNS = {
    "books": [
        ("novel", False), ("author", False), ("chapter", False), ("book", False),
        ("prose", False), ("narrator", False), ("paperback", False), ("writing", False),
        ("protagonist", False), ("hardcover", False), ("translation", False),
        ("first chapter", False), ("memoir", False), ("poems", True), ("biography", False),
        ("trilogy", False), ("epilogue", False), ("illustrations", True), ("prologue", False),
        ("footnotes", True), ("anthology", False), ("glossary", False),
    ],
    "electronics": [
        ("battery", False), ("charger", False), ("screen", False), ("headphones", True),
        ("speaker", False), ("laptop", False), ("phone", False), ("keyboard", False),
        ("camera", False), ("router", False), ("tablet", False), ("earbuds", True),
        ("app", False), ("microphone", False), ("adapter", False), ("touchscreen", False),
        ("firmware", False), ("usb port", False), ("smartwatch", False), ("processor", False),
        ("webcam", False), ("hard drive", False),
    ],
    "kitchen": [
        ("pan", False), ("blender", False), ("knife", False), ("kettle", False),
        ("toaster", False), ("pot", False), ("skillet", False), ("mixer", False),
        ("cutting board", False), ("coffee maker", False), ("spatula", False), ("whisk", False),
        ("saucepan", False), ("grinder", False), ("wok", False), ("food processor", False),
        ("colander", False), ("peeler", False), ("baking tray", False), ("ladle", False),
        ("nonstick coating", False), ("measuring cups", True),
    ],
    "movies": [
        ("plot", False), ("actor", False), ("scene", False), ("film", False), ("movie", False),
        ("director", False), ("cast", False), ("soundtrack", False), ("script", False),
        ("lead actress", False), ("villain", False), ("cinematography", False),
        ("special effects", True), ("trailer", False), ("documentary", False),
        ("screenplay", False), ("finale", False), ("subtitles", True), ("blu-ray", False),
        ("opening scene", False), ("editing", False), ("dvd", False),
    ],
}
# Nouns shared by two topics (not ranked).
SHARED_NOUNS = [
    (("books", "movies"), [
        ("story", False), ("ending", False), ("characters", True), ("dialogue", False),
        ("pacing", False), ("sequel", False), ("series", False), ("twist", False),
    ]),
    (("electronics", "kitchen"), [
        ("motor", False), ("cord", False), ("buttons", True), ("settings", True),
        ("timer", False), ("plug", False), ("display", False),
    ]),
    (("electronics", "movies"), [("sound", False), ("picture", False), ("volume", False)]),
    (("books", "kitchen"), [("recipes", True), ("photos", True)]),
]
# Generic nouns used by every topic (not ranked).
GENERIC_NOUNS = [
    ("product", False), ("item", False), ("thing", False), ("design", False),
    ("whole thing", False), ("size", False), ("colour", False), ("instructions", True),
    ("purchase", False), ("first impression", False),
]
# Head nouns of "it was a good ...": topic-specific with probability P_TOPIC_HEAD.
GENERIC_HEADS = ["purchase", "buy", "product", "choice", "gift", "find", "experience"]
TOPIC_HEADS = {
    "books": ["read", "book", "novel", "page-turner"],
    "electronics": ["gadget", "device", "piece of tech"],
    "kitchen": ["kitchen tool", "tool", "pan"],
    "movies": ["watch", "film", "movie"],
}

# Sentiment adjectives shared by all topics, ranked (common first, rare last).
ADJ = {
    +1: [
        "good", "great", "excellent", "amazing", "perfect", "nice", "wonderful",
        "fantastic", "impressive", "brilliant", "lovely", "enjoyable", "superb", "decent",
        "outstanding", "delightful", "terrific", "charming", "flawless", "marvellous",
        "stellar", "splendid", "exquisite", "sublime", "magnificent", "phenomenal",
        "top-notch", "praiseworthy",
    ],
    -1: [
        "bad", "poor", "terrible", "awful", "disappointing", "boring", "horrible", "useless",
        "mediocre", "annoying", "frustrating", "dreadful", "weak", "pathetic", "dull", "lousy",
        "subpar", "appalling", "atrocious", "abysmal", "dismal", "lacklustre", "woeful",
        "dire", "insipid", "lamentable", "execrable", "shambolic",
    ],
}
# Topic-specific sentiment words (not ranked), used with probability P_TOPIC_ADJ.
TOPIC_ADJ = {
    "books": {
        +1: ["gripping", "moving", "beautifully written", "thought-provoking", "unputdownable"],
        -1: ["tedious", "badly written", "confusing", "long-winded", "preachy"],
    },
    "electronics": {
        +1: ["fast", "responsive", "intuitive", "crisp", "snappy"],
        -1: ["laggy", "glitchy", "buggy", "slow", "unresponsive"],
    },
    "kitchen": {
        +1: ["sharp", "easy to clean", "practical", "handy", "efficient"],
        -1: ["blunt", "hard to clean", "wobbly", "sticky", "impractical"],
    },
    "movies": {
        +1: ["gripping", "hilarious", "moving", "stunning", "touching"],
        -1: ["predictable", "slow", "confusing", "cringeworthy", "forgettable"],
    },
}
# Sentiment verbs (base form, past tense), ranked.
VERBS = {
    +1: [
        ("love", "loved"), ("enjoy", "enjoyed"), ("like", "liked"),
        ("recommend", "recommended"), ("adore", "adored"), ("appreciate", "appreciated"),
        ("treasure", "treasured"), ("cherish", "cherished"),
    ],
    -1: [
        ("hate", "hated"), ("dislike", "disliked"), ("regret buying", "regretted buying"),
        ("detest", "detested"), ("resent", "resented"), ("despise", "despised"),
        ("loathe", "loathed"),
    ],
}
# "I was ... with it", ranked.
FEELINGS = {
    +1: ["pleased", "impressed", "happy", "satisfied", "delighted", "thrilled", "amazed"],
    -1: ["disappointed", "unhappy", "frustrated", "annoyed", "underwhelmed", "let down",
         "dissatisfied"],
}
WORTH = {+1: ["worth it", "worth it", "worth the effort"], -1: ["a waste of time", "a letdown"]}
NEG_WORTH = ["hardly", "not", "never", "not really"]  # "it was hardly worth it"
INTENSIFIERS = [  # ranked
    "very", "really", "absolutely", "quite", "so", "extremely", "pretty", "truly",
    "incredibly", "genuinely", "remarkably",
]
ADVERBS = ["", "", "really ", "truly ", "absolutely "]  # "I really loved the plot"
PERSONS = [
    "wife", "husband", "sister", "brother", "friend", "son", "daughter", "mum", "dad",
    "colleague", "neighbour", "roommate", "fiancée", "partner",
]
WHEN = ["last month", "in march", "two weeks ago", "for my birthday", "before the holidays",
        "last year", "on a friday", "in the spring"]

# Clause templates. ``{slot}`` fields are filled left to right by ``_Grammar.fill``:
# {n} a topic noun phrase ("the novel"), {be} is/are/was/were agreeing with it, {adj} /
# {iadj} a sentiment adjective (with an optional intensifier), {verb}, {feel}, ...
# Direct clauses: the sentiment word has the polarity of the clause.
DIRECT_CLAUSES = [
    "{n} {be} {iadj}",
    "i found {n} {iadj}",
    "{n} felt {iadj}",
    "{n} turned out to be {iadj}",
    "{n} {be} {iadj} and {adj}",
    "it {itbe} {a_iadj} {head}",
    "i {adv}{verbp} {n}",
    "i {verb} {n}",
    "i was {ifeel} with {n}",
    "my {person} thinks {n} {be} {adj}",
    "{n} seemed {iadj}",
    "{what_np}",
    "{n} {be} simply {adj}",
    "{n} {be} {iadj}, no doubt about it",
    "this is {a_iadj} {head}",
    "{n} left me {ifeel}",
    "it {itbe} {worth}",
]
# Negated clauses: the sentiment word has the OPPOSITE polarity and the negation before it
# flips it ("not good" is negative, "never disappointing" is positive).
NEGATED_CLAUSES = [
    "{n} {be} not {iadj}",
    "{n} {ben} {iadj}",
    "{n} {be} never {adj}",
    "{n} {be} hardly {adj}",
    "{n} {be} far from {adj}",
    "{n} {be} anything but {adj}",
    "{n} {be} not exactly {adj}",
    "{n} {be} not at all {adj}",
    "i would not call {n} {adj}",
    "i did not {verb} {n}",
    "i don't {verb} {n}",
    "i was not {feel} with {n}",
    "i wasn't {ifeel} with {n}",
    "there is nothing {adj} about {n}",
    "{n} never felt {adj}",
    "i could not find anything {adj} about {n}",
    "no one would call {n} {adj}",
    "it {itbe} hardly {a_adj} {head}",
    "it {itbe} {neg_worth} {worth}",
]
# Idioms with a fixed polarity: negation words that do not flip a sentiment word.
IDIOMS = {
    +1: [
        "i can't get enough of {n}",
        "i can't fault {n}",
        "i never get tired of {n}",
        "nothing beats {n}",
        "i have no complaints about {n}",
        "{n} did not disappoint",
        "i can't recommend {n} enough",
    ],
    -1: [
        "i can't stand {n}",
        "{n} just {doesnt} work for me",
        "i can't recommend {n}",
        "{n} never worked as promised",
        "{n} {be} a letdown",
        "nothing about {n} works",
        "i gave up on {n} halfway",
    ],
}
OPENERS = ["honestly, ", "overall, ", "all in all, ", "to be honest, ", "in short, "]
# Contrast sentences: {a} has the opposite polarity, {b} the polarity of the review. The
# clause after "but" / "however" / "still" decides, and so does the main clause next to
# "although" / "even though" / "despite", which comes FIRST in the last three.
CONTRASTS = [
    "{a}, but {b}.",
    "{a} but {b}.",
    "{a}; however, {b}.",
    "{A}. But {b}.",
    "{A}. Still, {b}.",
    "at first {a}, but in the end {b}.",
    "although {a}, {b}.",
    "even though {a}, {b}.",
    "sure, {a}, but {b}.",
    "{b}, even though {a}.",
    "{b}, although {a}.",
    "{b} despite the fact that {a}.",
]
# A marked remark of the opposite polarity ({c}) inside a review of polarity +1 / -1.
MINOR_OPPOSITE = {
    +1: ["my only complaint is that {c}.", "the only downside is that {c}.",
         "one minor gripe: {c}."],
    -1: ["to be fair, {c}.", "the one redeeming feature: {c}.", "i will admit that {c}."],
}
CLOSINGS = {
    +1: ["Would recommend.", "Highly recommended!", "Five stars.", "Go for it.", "A keeper.",
         "Ten out of ten.", "No regrets.", "Would not hesitate to buy again.",
         "Can't complain."],
    -1: ["Would not recommend.", "Not recommended.", "One star.", "Avoid.", "Do not buy.",
         "Never again.", "What a letdown.", "Not for me.", "Wouldn't buy again."],
}
SHORT_REVIEWS = {
    +1: ["Great!", "Love it.", "Perfect!", "Excellent.", "Not bad at all.", "Five stars!",
         "Brilliant!", "Very good.", "No complaints.", "Superb!", "Never disappointing."],
    -1: ["Awful.", "Terrible!", "Not good.", "Junk.", "Rubbish.", "One star.", "Meh.",
         "Do not buy.", "Very poor.", "Not worth it.", "Hated it."],
}
# A sentiment word that does not describe the product (its polarity is random).
NEUTRAL_CONTEXT = {
    "all": [
        "i bought it after {a_adjx} week at work.",
        "the weather was {adjx} the day i unpacked it.",
        "i had heard {adjx} things about it, so i wanted to judge for myself.",
        "i am writing this on {a_adjx} rainy monday.",
        "my {person} had {a_adjx} day, so i let them try it first.",
    ],
    "books": ["the story is about {a_adjx} summer in a small town.",
              "the main character has {a_adjx} childhood."],
    "electronics": ["i needed it for {a_adjx} trip abroad.",
                    "my old one had {a_adjx} logo on the back."],
    "kitchen": ["i needed it for {a_adjx} dinner party.",
                "i cook for {a_adjx} crowd of teenagers."],
    "movies": ["the film is about {a_adjx} summer in a small town.",
               "the hero has {a_adjx} childhood."],
}
NEUTRAL_CONTEXT_ADJ = ["good", "great", "bad", "terrible", "awful", "lovely", "wonderful",
                       "horrible", "long"]
# Neutral sentences: generic ones, and topic-specific ones (probability P_TOPIC_FILLER).
FILLERS = {
    "all": [
        "I bought it {when}.", "I have had it for {k} weeks now.", "This is my second one.",
        "I got it as a gift for my {person}.", "I ordered it on a whim.",
        "I am not an expert.", "Here is my take.", "Long story short.",
        "Just my two cents.", "I never write reviews, but here goes.",
        "I did not know what to expect.", "I wrote this review in a café.",
        "Call me naïve, I thought it would last forever.", "My {person} picked it.",
        "I compared a few options first.", "It was on my list for a while.",
        "Let me explain.", "Update after {k} weeks below.",
        "I bought it {when} after comparing it with a few others, and I have used it "
        "almost every day since then.",
        "I had been looking for something like this for a long time, so I finally "
        "ordered one {when}.",
        "My {person} and I talked about it for a while before we decided to get one, "
        "mostly out of curiosity.",
        "I am writing this after {k} weeks of use, because I think a first impression "
        "does not tell you much.",
    ],
    "books": [
        "I read it over {k} evenings.", "I read it on the train.",
        "It is the second book in the series.", "I bought the paperback edition.",
        "The author also wrote a memoir.", "I read it for my book club.",
    ],
    "electronics": [
        "I use it for video calls.", "It connects over bluetooth.",
        "Setup took {k} minutes.", "I paired it with my laptop.",
        "I mostly use it at my desk.", "It needed a firmware update first.",
    ],
    "kitchen": [
        "I cook for a family of four.", "I mostly use it for soups and sauces.",
        "It fits in the drawer.", "I made crème brûlée with it.",
        "I used it for a jalapeño salsa.", "I use it to make pancakes on sundays.",
    ],
    "movies": [
        "We watched it on a friday night.", "It runs about {k}0 minutes.",
        "I saw it in the cinema.", "We streamed it at home.",
        "It is a remake of an older film.", "The plot gave me déjà vu.",
    ],
}
# A sentence of a review of topic T that names nouns of ANOTHER topic.
CROSS_TOPIC = {
    "books": ["I read it on my tablet.", "I liked the film version too.",
              "I keep it next to the kettle.", "The movie adaptation is on my list."],
    "electronics": ["I mostly use it to watch films.", "I use it to read novels at night.",
                    "I use it to follow recipes in the kitchen.",
                    "The screen is big enough for a movie."],
    "kitchen": ["I follow the recipes from my favourite cookbook.",
                "I got it the same week as a new laptop.",
                "I watched a cooking film before buying it.",
                "I keep it next to the charger for my phone."],
    "movies": ["I read the novel first.", "I watched it on my new tablet.",
               "The author of the book wrote the script.",
               "The speaker on my laptop did not do the soundtrack justice."],
}
# Aspect phrases: (aspect, polarity) -> phrases. A review's ``aspects`` label lists exactly
# the aspects whose phrases it contains. The phrases carry sentiment too.
ASPECT_PHRASES = {
    ("price", +1): ["the price was fair", "it was worth every penny", "great value for money",
                    "it was a bargain", "the price is reasonable",
                    "it costs less than the others", "it was cheap for what you get"],
    ("price", -1): ["it was overpriced", "it was way too expensive", "the price is a joke",
                    "it costs far too much", "it is not worth the price",
                    "poor value for money"],
    ("quality", +1): ["it is well made", "the build quality is solid", "it feels sturdy",
                      "the materials are top quality", "it still looks new after months",
                      "the craftsmanship is excellent"],
    ("quality", -1): ["it fell apart after a week", "the build quality is poor",
                      "it feels cheap and flimsy", "it broke on the second day",
                      "the materials feel cheap", "it started to crack within a month"],
    ("delivery", +1): ["it arrived quickly", "shipping was fast", "delivery was on time",
                       "it came a day early", "the package arrived in perfect condition",
                       "the courier was quick"],
    ("delivery", -1): ["shipping took ages", "it arrived late", "the box arrived damaged",
                       "delivery took three weeks", "the package got lost twice",
                       "it took ages to arrive"],
    ("service", +1): ["customer service was helpful", "the seller replied within an hour",
                      "support sorted out my problem quickly", "the seller was friendly",
                      "the refund was processed without fuss", "the staff were very kind"],
    ("service", -1): ["the seller never replied", "customer service was rude",
                      "support was useless", "nobody answered my emails",
                      "the seller ignored my complaint", "getting a refund was a nightmare"],
}
ASPECT_SENTENCES_1 = ["{p}.", "also, {p}.", "{p}, for what it's worth.", "by the way, {p}."]
ASPECT_SENTENCES_2 = ["{p} and {q}.", "{p}; {q}.", "{p}, and {q} too."]
EMOJI = {+1: ["👍", "😍", "🙂", "⭐"], -1: ["👎", "😡", "🙁", "💩"]}

# fmt: on


def _zipf(n: int, exponent: float) -> np.ndarray:
    w = 1.0 / np.arange(1, n + 1) ** exponent
    return np.cumsum(w / w.sum())


class _Grammar:
    """Template grammar with a numpy random generator."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self._cum: dict[tuple[int, float], np.ndarray] = {}
        # Nouns that each topic shares with another one.
        self.shared = {t: [w for ts, ws in SHARED_NOUNS if t in ts for w in ws] for t in TOPICS}

    # -- random helpers ---------------------------------------------------------------
    def u(self) -> float:
        return float(self.rng.random())

    def pick(self, items):
        return items[int(self.rng.integers(len(items)))]

    def ranked(self, items, exponent: float = ZIPF_EXPONENT):
        key = (len(items), exponent)
        cum = self._cum.get(key)
        if cum is None:
            cum = self._cum[key] = _zipf(len(items), exponent)
        return items[min(int(np.searchsorted(cum, self.u(), side="right")), len(items) - 1)]

    def choice_p(self, p) -> int:
        return int(np.searchsorted(np.cumsum(p), self.u() * sum(p), side="right"))

    # -- words --------------------------------------------------------------------------
    def noun(self, topic: str) -> tuple[str, bool]:
        src = self.choice_p(NOUN_SOURCE_P)
        if src == 0:
            return self.ranked(TOPIC_NOUNS[topic], NOUN_ZIPF_EXPONENT)
        if src == 1:
            return self.pick(self.shared[topic])
        return self.pick(GENERIC_NOUNS)

    def adj(self, pol: int, topic: str) -> str:
        if self.u() < P_TOPIC_ADJ:
            return self.pick(TOPIC_ADJ[topic][pol])
        return self.ranked(ADJ[pol])

    def intensified(self, word: str) -> str:
        if self.u() < P_INTENSIFIER:
            return f"{self.ranked(INTENSIFIERS)} {word}"
        return word

    @staticmethod
    def article(phrase: str) -> str:
        return ("an " if phrase[0] in "aeiou" else "a ") + phrase

    # -- templates ----------------------------------------------------------------------
    def fill(self, template: str, ctx: dict) -> str:
        """Fill ``{slot}`` fields left to right; ``ctx`` holds topic, word polarity, tense."""
        return re.sub(r"\{(\w+)\}", lambda m: self._slot(m.group(1), ctx), template)

    def _slot(self, name: str, ctx: dict) -> str:
        topic, wp = ctx["topic"], ctx.get("wp", +1)
        past = ctx.setdefault("past", self.u() < 0.6)
        if name == "n":
            noun, plural = self.noun(topic)
            ctx["plural"] = plural
            det = "the" if self.u() < 0.8 else ("these" if plural else "this")
            return f"{det} {noun}"
        if name in ("be", "ben"):
            plural = ctx.get("plural", False)
            word = ("were" if plural else "was") if past else ("are" if plural else "is")
            return word + ("n't" if name == "ben" else "")
        if name == "doesnt":
            return "don't" if ctx.get("plural", False) else "doesn't"
        if name == "itbe":
            return "was" if past else "is"
        if name in ("adj", "iadj", "a_adj", "a_iadj"):
            used = ctx.setdefault("adjs", [])
            word = self.adj(wp, topic)
            while word in used:  # no "good and good"
                word = self.adj(wp, topic)
            used.append(word)
            if "i" in name:
                word = self.intensified(word)
            return self.article(word) if name.startswith("a_") else word
        if name == "what_np":
            noun, plural = self.noun(topic)
            adj = self.adj(wp, topic)
            return f"what {adj} {noun}" if plural else f"what {self.article(adj)} {noun}"
        if name == "head":
            if self.u() < P_TOPIC_HEAD:
                return self.pick(TOPIC_HEADS[topic])
            return self.pick(GENERIC_HEADS)
        if name == "verb":
            return self.ranked(VERBS[wp])[0]
        if name == "verbp":
            return self.ranked(VERBS[wp])[1]
        if name == "adv":
            return self.pick(ADVERBS)
        if name == "feel":
            return self.ranked(FEELINGS[wp])
        if name == "ifeel":
            return self.intensified(self.ranked(FEELINGS[wp]))
        if name == "person":
            return self.pick(PERSONS)
        if name == "worth":
            return self.pick(WORTH[wp])
        if name == "neg_worth":
            return self.pick(NEG_WORTH)
        if name == "adjx":
            return self.pick(NEUTRAL_CONTEXT_ADJ)
        if name == "a_adjx":
            return self.article(self.pick(NEUTRAL_CONTEXT_ADJ))
        if name == "when":
            return self.pick(WHEN)
        if name == "k":
            return str(int(self.rng.integers(2, 10)))
        raise KeyError(name)

    # -- sentences ----------------------------------------------------------------------
    def clause(self, pol: int, topic: str, allow_idiom: bool = True) -> str:
        """A clause (lower case, no final punctuation) that expresses polarity ``pol``."""
        r = self.u()
        if allow_idiom and r < P_IDIOM:
            return self.fill(self.pick(IDIOMS[pol]), {"topic": topic})
        if r < P_IDIOM + P_NEGATION:
            return self.fill(self.pick(NEGATED_CLAUSES), {"topic": topic, "wp": -pol})
        return self.fill(self.pick(DIRECT_CLAUSES), {"topic": topic, "wp": pol})

    def main_sentence(self, pol: int, topic: str) -> str:
        if self.u() < P_CONTRAST:
            template = self.pick(CONTRASTS)
            a = self.clause(-pol, topic, allow_idiom=False)
            b = self.clause(pol, topic, allow_idiom=False)
            return template.format(a=a, A=a, b=b)
        end = self.pick([".", ".", ".", "!", "!!", "..."])
        opener = self.pick(OPENERS) if self.u() < P_OPENER else ""
        return opener + self.clause(pol, topic) + end

    def aspect_sentence(self, aspects: list[str], pol: int) -> str:
        phrases = []
        for aspect in aspects:
            apol = pol if self.u() < P_ASPECT_AGREES else -pol
            phrases.append(self.pick(ASPECT_PHRASES[(aspect, apol)]))
        if len(phrases) == 1:
            return self.pick(ASPECT_SENTENCES_1).format(p=phrases[0])
        return self.pick(ASPECT_SENTENCES_2).format(p=phrases[0], q=phrases[1])

    def review(self, pol: int, topic: str) -> tuple[str, list[str]]:
        """One review text with true polarity ``pol`` and the aspects it mentions."""
        if self.u() < P_SHORT:
            return self.pick(SHORT_REVIEWS[pol]), []
        for _ in range(100):
            text, aspects = self._regular_review(pol, topic)
            if MIN_WORDS <= len(text.split()) <= MAX_WORDS:
                return text, aspects
        raise RuntimeError("could not draw a review of the right length")  # pragma: no cover

    def _regular_review(self, pol: int, topic: str) -> tuple[str, list[str]]:
        n_sent = 1 + self.choice_p(N_SENTENCES_P)
        n_aspects = self.choice_p(N_ASPECTS_P)
        order = self.rng.permutation(len(ASPECTS))[:n_aspects]
        wanted = [ASPECTS[i] for i in sorted(order)]
        main = self.main_sentence(pol, topic)
        body: list[str] = [main]
        used = main.count(". ") + 1  # the "{A}. But {b}." contrasts are two sentences
        closing = None
        mentioned: list[str] = []
        # Optional parts, in order of priority, while there is room.
        extras: list[tuple[str, list[str] | None]] = []
        if wanted:
            for i in range(0, len(wanted), 2):
                extras.append(("aspect", wanted[i : i + 2]))
        if self.u() < P_NEUTRAL_CONTEXT:
            extras.append(("neutral", None))
        if self.u() < P_MINOR_OPPOSITE:
            extras.append(("minor", None))
        if self.u() < P_CROSS_TOPIC:
            extras.append(("cross", None))
        if self.u() < P_SECOND_POLAR:
            extras.append(("polar", None))
        extras += [("filler", None), ("closing", None), ("polar", None), ("filler", None)]
        # Keep the drawn extras in a random order, the padding ones last.
        n_drawn = len(extras) - 4
        perm = list(self.rng.permutation(n_drawn)) + list(range(n_drawn, len(extras)))
        for i in perm:
            if used >= n_sent:
                break
            kind, arg = extras[i]
            if kind == "aspect":
                body.append(self.aspect_sentence(arg, pol))
                mentioned += arg
            elif kind == "neutral":
                pool = NEUTRAL_CONTEXT["all"] + NEUTRAL_CONTEXT[topic]
                body.append(self.fill(self.pick(pool), {"topic": topic}))
            elif kind == "minor":
                c = self.clause(-pol, topic, allow_idiom=False)
                body.append(self.pick(MINOR_OPPOSITE[pol]).format(c=c))
            elif kind == "cross":
                body.append(self.pick(CROSS_TOPIC[topic]))
            elif kind == "polar":
                sentence = self.clause(pol, topic)
                if self.u() < P_COMPOUND:  # "the plot was great, and I loved the cast."
                    sentence += self.pick([", and ", " and ", "; also, "]) + self.clause(pol, topic)
                body.append(sentence + self.pick([".", ".", "!"]))
            elif kind == "filler":
                pool = FILLERS[topic] if self.u() < P_TOPIC_FILLER else FILLERS["all"]
                body.append(self.fill(self.pick(pool), {"topic": topic}))
            else:
                closing = self.pick(CLOSINGS[pol])
            used += 1
        sentences = [body[i] for i in self.rng.permutation(len(body))]
        if closing is not None:
            sentences.append(closing)
        text = " ".join(_capitalise(s) for s in sentences)
        return self._decorate(text, pol), [a for a in ASPECTS if a in mentioned]

    def _decorate(self, text: str, pol: int) -> str:
        """Typos, case, apostrophes and emoji."""
        text = re.sub(r"\bi\b", "I", text)
        text = re.sub(r"[A-Za-z]{4,}", self._typo, text)
        if self.u() < P_CURLY_APOSTROPHE:
            text = text.replace("'", "\u2019")
        if self.u() < P_LOWERCASE:
            text = text.lower()
        if self.u() < P_EMOJI:
            epol = pol if self.u() < P_EMOJI_AGREES else -pol
            text = f"{text} {self.pick(EMOJI[epol])}"
        return text

    def _typo(self, m: re.Match) -> str:
        word = m.group(0)
        if self.u() >= P_TYPO:
            return word
        i = int(self.rng.integers(1, len(word)))
        return word[:i] + word[i + 1 :]


def _capitalise(sentence: str) -> str:
    return sentence[:1].upper() + sentence[1:]


def _draw(n: int, rng: np.random.Generator) -> tuple[list[str], list[int], list[str], list]:
    grammar = _Grammar(rng)
    texts, pols, topics, aspects = [], [], [], []
    for _ in range(int(n)):
        pol = +1 if grammar.u() < 0.5 else -1
        topic = TOPICS[int(rng.integers(len(TOPICS)))]
        text, asp = grammar.review(pol, topic)
        texts.append(text)
        pols.append(pol)
        topics.append(topic)
        aspects.append(asp)
    return texts, pols, topics, aspects


def make_reviews(
    n_reviews: int = 2000, random_state: int = 0, return_flipped: bool = False
) -> pd.DataFrame | tuple[pd.DataFrame, np.ndarray]:
    """Return ``n_reviews`` labelled reviews (columns text, sentiment, topic, aspects).

    ``sentiment`` is the true polarity, except for ``round(P_LABEL_NOISE * n_reviews)``
    randomly chosen rows where it is flipped on purpose. ``aspects`` is a ``;``-separated
    list in the order of ``ASPECTS`` ("" for none). With ``return_flipped=True``, also
    return the boolean mask of the flipped rows.
    """
    rng = np.random.default_rng([random_state, 1])
    texts, pols, topics, aspects = _draw(n_reviews, rng)
    flipped = np.zeros(len(pols), dtype=bool)
    flipped[rng.choice(len(pols), size=round(P_LABEL_NOISE * len(pols)), replace=False)] = True
    observed = np.where(flipped, -np.array(pols), np.array(pols))
    df = pd.DataFrame(
        {
            "text": texts,
            "sentiment": np.where(observed > 0, "positive", "negative"),
            "topic": topics,
            "aspects": [";".join(a) for a in aspects],
        }
    )
    return (df, flipped) if return_flipped else df


def make_corpus(n_reviews: int = 8000, random_state: int = 0) -> list[str]:
    """Return ``n_reviews`` unlabelled reviews from the same generator (own random stream)."""
    rng = np.random.default_rng([random_state, 2])
    return _draw(n_reviews, rng)[0]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    parser.add_argument("--labelled", type=int, default=2000, help="rows of reviews.csv")
    parser.add_argument("--unlabelled", type=int, default=8000, help="lines of corpus.txt")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    df, flipped = make_reviews(n_reviews=args.labelled, random_state=args.seed, return_flipped=True)
    n_flipped = int(flipped.sum())
    df.to_csv(args.out / "reviews.csv", index=False, lineterminator="\n")
    corpus = make_corpus(n_reviews=args.unlabelled, random_state=args.seed)
    (args.out / "corpus.txt").write_text("\n".join(corpus) + "\n", encoding="utf-8")
    print(
        f"wrote {len(df)} reviews to {args.out / 'reviews.csv'} "
        f"({(df['sentiment'] == 'positive').mean():.3f} positive, {n_flipped} labels flipped)"
    )
    print(f"wrote {len(corpus)} unlabelled reviews to {args.out / 'corpus.txt'}")


if __name__ == "__main__":
    main()
