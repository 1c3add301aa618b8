"""Text to train the tiny models' tokenizers on, written for this project and generated from a word list."""

from __future__ import annotations

import random

# Everyday words about pictures and questions, so the learnt subwords look like the arena's prompts.
_WORD_LINES = (
    "a an the this that these those it its they them their there here what which who where when why how",
    "is are was were be been being has have had do does did can could will would should may might must",
    "not no yes and or but if then so because while after before during until since than as of in on at",
    "by for with about from into onto over under above below between behind beside near far inside outside",
    "up down left right top bottom middle center front back side corner edge around through across along",
    "one two three four five six seven eight nine ten many few some all most more less each every other",
    "red orange yellow green blue purple pink brown black",
    "white gray grey golden silver dark light bright pale",
    "big small large tiny huge little long short tall",
    "wide narrow round square flat thin thick heavy soft hard",
    "old new young fresh clean dirty wet dry hot cold warm cool empty full open closed busy quiet happy sad",
    "cat dog bird horse cow sheep fish duck rabbit mouse bear lion tiger zebra giraffe elephant monkey snake",
    "man woman person people child children boy girl baby friend family player worker driver teacher cook",
    "tree flower grass leaf plant garden forest field mountain hill river lake sea beach sand rock stone",
    "sky cloud sun moon star rain snow wind storm fog sunset morning evening night day light shadow",
    "house home room kitchen window door wall floor roof table chair bed sofa lamp shelf book cup plate bowl",
    "bottle glass knife fork spoon box bag basket clock phone screen computer keyboard camera picture photo",
    "image drawing painting poster sign letter word number text label chart graph map diagram page paper",
    "car bus truck train bicycle motorcycle boat ship plane road street bridge city town village building",
    "shirt dress hat shoe coat jacket glasses ball kite toy game bread cake apple banana orange pizza food",
    "see look show find count read tell describe explain answer ask think know say make take give hold",
    "sit stand walk run jump fly swim eat drink play work sleep smile wear carry ride drive cross wait",
    "color shape size kind type part piece group pair line circle triangle square dot stripe pattern",
    "question picture scene object animal vehicle item detail background foreground view angle photograph",
)
# dict.fromkeys: a word listed twice would only skew the sampling.
_WORDS = tuple(dict.fromkeys(word for line in _WORD_LINES for word in line.split()))
_OPENINGS = ("What", "Where", "How many", "Is there", "Can you see", "Describe", "Why", "Which", "Who")
_ENDINGS = (".", "?", "!", ",", ";", ":")


def corpus_sentences(*, seed: int, count: int) -> list[str]:
    """`count` pseudo-sentences, the same ones for the same seed."""
    rng = random.Random(seed)
    sentences = []
    for index in range(count):
        words = [rng.choice(_WORDS) for _ in range(rng.randint(5, 14))]
        if index % 3 == 0:
            words.insert(0, rng.choice(_OPENINGS))
        if index % 7 == 0:
            words.append(str(rng.randint(0, 1999)))
        sentence = " ".join(words)
        sentences.append(sentence[0].upper() + sentence[1:] + rng.choice(_ENDINGS))
    return sentences
