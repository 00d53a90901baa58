#!/usr/bin/python3
"""Recomputes the METEOR column of tests/fixtures/metrics/expected.json with
Debian's NLTK (NLTKWordTokenizer + meteor_score over Debian's WordNet) and
fails if any value differs by more than 1e-12: the fixture the C++ test
compares against is what NLTK computes on this machine.
usage: check_meteor_fixture.py FIXTURE_DIR"""
import json, os, sys
from nltk.tokenize.destructive import NLTKWordTokenizer
from nltk.translate import meteor_score
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nltk_wordnet import open_wordnet

fixtures = sys.argv[1]
wordnet = open_wordnet()
corpus = json.load(open(os.path.join(fixtures, "corpus.json"), encoding="utf-8"))
expected = json.load(open(os.path.join(fixtures, "expected.json"), encoding="utf-8"))["meteor"]
tok = NLTKWordTokenizer()
bad = 0
for (ref, hyp), want in zip(corpus["pairs"], expected):
    got = meteor_score.single_meteor_score(tok.tokenize(ref), tok.tokenize(hyp), wordnet=wordnet)
    if abs(got - want) > 1e-12:
        bad += 1
        print("differs: %r %r nltk=%r fixture=%r" % (ref, hyp, got, want))
print("%d pairs, %d differ" % (len(expected), bad))
sys.exit(1 if bad or len(expected) < 300 else 0)
