#!/usr/bin/python3
"""Writes the text-metric fixtures: a corpus built here (deterministic), and
what the genuine reference implementations compute on it.

References (none of their code is in this repository):
  rouge-score   google-research/google-research rouge/ (tokenize + scorer)
  sacreBLEU     mjpost/sacrebleu at v2.6.0
  rank_bm25     dorianbrown/rank_bm25
  NLTK          Debian's python3-nltk (PorterStemmer, meteor_score,
                NLTKWordTokenizer) with WordNet from Debian's wordnet-base

usage: /usr/bin/python3 make_metric_references.py --rouge DIR --sacrebleu DIR
           --rank-bm25 DIR --out tests/fixtures/metrics
Each DIR is put on sys.path: DIR/rouge/, DIR/sacrebleu/, DIR/rank_bm25.py.
"""
import argparse, json, os, random, sys

ap = argparse.ArgumentParser()
ap.add_argument("--rouge", required=True)
ap.add_argument("--sacrebleu", required=True)
ap.add_argument("--rank-bm25", required=True)
ap.add_argument("--wordnet", default="/usr/share/wordnet")
ap.add_argument("--out", required=True)
args = ap.parse_args()
sys.path[:0] = [args.rouge, args.sacrebleu, args.rank_bm25]

from rouge import rouge_scorer
import sacrebleu
from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a
import rank_bm25
from nltk.stem.porter import PorterStemmer
from nltk.tokenize.destructive import NLTKWordTokenizer
from nltk.translate import meteor_score
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nltk_wordnet import open_wordnet

assert sacrebleu.__version__ == "2.6.0", sacrebleu.__version__

wordnet = open_wordnet(args.wordnet)

rng = random.Random(20261130)

# ---- The corpus -------------------------------------------------------------
WORDS = ("the a of to and in is was for on with as by at from it he she they we you this that "
         "used using uses user day days key keys one ones biology geology hopefully carefully dying "
         "ties lies news skies sky flies studies studied happy happily running ran runs generalization "
         "relational conditional rational hopeful goodness electrical formalize operator feudalism "
         "decisiveness agreed feed plastered motoring sing conflated troubled sized hopping falling "
         "hissing fizzed failing filing controlling rolling cats ponies caresses innings outings "
         "proceed exceeded succeeding howe canning city cities town car automobile buy purchase big "
         "large small little quick fast rapid film movie picture story tale begin start end finish "
         "review product great good excellent bad poor terrible love loved like liked paper abstract "
         "method model results show shows showed propose proposed novel approach learning neural "
         "Istanbul İstanbul İzmir Kelvin \u212aelvin café naïve résumé Zürich ΟΔΟΣ Straße 東京 日本語 "
         "don't can't won't I'm you're it's we've they'll cannot gonna gotta wanna lemme 'tis "
         "U.S. e.g. 3.14 1,000 2024-05-01 $5.99 50% a..5 b.,6 x-y 7-8 (parens) [brackets] {braces} "
         "<angle> \"quoted\" 'single' ``tex'' «guillemets» “curly” ‘curly’ -- ... ! ? ; : , . * @ # &").split(" ")
SEPARATORS = [" "] * 30 + ["  ", "\t", "\n", "\u00a0", "\u2009", "\u3000", "\u2028", "\u0085",
                           "\x1c", "\x1f", " - ", "-\n", ", ", ". "]
SPECIAL = [
    ("İstanbul is big", "Istanbul is big"),
    ("\u212aelvin used keys", "kelvin uses key"),
    ("a..5 b.,6 c,.7", "a . .5 b . ,6"),
    ("fish &amp;amp; chips &amp;lt; &quot;x&quot;", "fish & chips"),
    ("split-\nword <skipped> end", "splitword end"),
    ("-<skipped>\nnext", "- next"),
    ("trailing whitespace  \u00a0\u3000", "trailing whitespace"),
    ("no\u00a0break\u2009thin\u3000ideo\u2028line\u0085nel\x1cfs", "no break thin ideo line nel fs"),
    ("They used the ties on skies; dying news.", "they use the tie on sky; die news."),
    ("Biology and geology, hopefully carefully.", "biological geologic hope careful"),
    ("The quick brown fox jumps over the lazy dog", "The quick brown dog jumps on the log."),
    ("I don't think it's 'tis gonna work, cannot!", "i do n't think gonna work can not"),
    ("He bought a car and a big house.", "He purchased an automobile and a large house."),
    ("It is a guide to action which ensures that the military always obeys the commands of the party.",
     "It is a guide to action that ensures that the military will forever heed Party commands."),
    ("", "something"),
    ("something", ""),
    ("", ""),
    ("!!! ...", "??"),
    ("Same words", "same, words!"),
    ("café naïve Zürich", "cafe naive zurich"),
]

def random_text(n_min, n_max):
    n = rng.randint(n_min, n_max)
    out = []
    for i in range(n):
        w = rng.choice(WORDS)
        if rng.random() < 0.1: w = w.capitalize()
        if rng.random() < 0.05: w = w.upper()
        out.append(w)
        if i + 1 < n: out.append(rng.choice(SEPARATORS))
    if rng.random() < 0.3: out.append(rng.choice([".", "!", "?", " ", "\n", " \u00a0"]))
    return "".join(out)

def perturb(text):
    words = text.split(" ")
    out = []
    for w in words:
        r = rng.random()
        if r < 0.15: continue
        if r < 0.3: w = rng.choice(WORDS)
        out.append(w)
        if rng.random() < 0.1: out.append(rng.choice(WORDS))
    return " ".join(out)

pairs = [list(p) for p in SPECIAL]
while len(pairs) < 320:
    ref = random_text(3, 40)
    pairs.append([ref, perturb(ref) if rng.random() < 0.8 else random_text(3, 40)])

bm25_sets = []
for c in range(9):
    docs = [random_text(0 if rng.random() < 0.05 else 2, 30) for _ in range(rng.randint(3, 12))]
    if c == 0: docs[0] = "apple\u00a0banana cherry"  # one NBSP moves every score
    queries = [random_text(1, 6) for _ in range(5)]
    bm25_sets.append({"documents": docs, "queries": queries})

# Stemmer words: every single word of WordNet's indexes with common endings,
# keeping all on which NLTK's default mode and the 1980 algorithm disagree
# plus a sample of the rest.
lemmas = set()
for pos in ("noun", "verb", "adj", "adv"):
    with open(os.path.join(args.wordnet, "index." + pos)) as f:
        for line in f:
            if line.startswith(" "): continue
            w = line.split(" ", 1)[0]
            if w.isalpha() and w.isascii(): lemmas.add(w)
candidates = set()
for w in sorted(lemmas):
    for suffix in ("", "s", "es", "ed", "ing", "ly", "ies", "ied", "er", "est", "ness", "ful", "fully", "logy"):
        candidates.add(w + suffix)
nltk_stem, orig_stem = PorterStemmer(), PorterStemmer(PorterStemmer.ORIGINAL_ALGORITHM)
ordered = sorted(candidates)
differ = [w for w in ordered if nltk_stem.stem(w) != orig_stem.stem(w)]
same = [w for w in ordered if nltk_stem.stem(w) == orig_stem.stem(w)]
stem_words = rng.sample(differ, 2500) + rng.sample(same, 2500) + ["café", "naïve", "résumé", "ßßed", "éies", "tying", "sky"]

corpus = {"pairs": pairs, "bm25": bm25_sets, "stem_words": stem_words}

# ---- The references ---------------------------------------------------------
scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=False)
scorer_stem = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)
def rouge_row(s, target, prediction):
    r = s.score(target, prediction)
    return [v for k in ("rouge1", "rouge2", "rougeL") for v in (r[k].precision, r[k].recall, r[k].fmeasure)]

tok13a = Tokenizer13a()
word_tok = NLTKWordTokenizer()
texts = [t for p in pairs for t in p]
expected = {
    "rouge": [rouge_row(scorer, t, p) for t, p in pairs],
    "rouge_stem": [rouge_row(scorer_stem, t, p) for t, p in pairs],
    "tokens_13a": [tok13a(t.rstrip()).split() for t in texts],
    "sentence_bleu": [sacrebleu.sentence_bleu(p, [t]).score for t, p in pairs],
    "bm25": [],
    "stems": [nltk_stem.stem(w) for w in stem_words],
    "word_tokens": [word_tok.tokenize(t) for t in texts],
    "meteor": [meteor_score.single_meteor_score(word_tok.tokenize(t), word_tok.tokenize(p), wordnet=wordnet)
               for t, p in pairs],
}
corpus_bleu = sacrebleu.corpus_bleu([p for _, p in pairs], [[t for t, _ in pairs]])
expected["corpus_bleu"] = {"score": corpus_bleu.score, "precisions": corpus_bleu.precisions,
                           "bp": corpus_bleu.bp, "sys_len": corpus_bleu.sys_len, "ref_len": corpus_bleu.ref_len}
for s in bm25_sets:
    bm = rank_bm25.BM25Okapi([d.split() for d in s["documents"]])
    expected["bm25"].append([list(map(float, bm.get_scores(q.split()))) for q in s["queries"]])
# Synonym sets for a few words, so a WordNet reader bug shows by itself.
expected["synonyms"] = {w: sorted(set(l.name() for ss in wordnet.synsets(w) for l in ss.lemmas()
                                      if "_" not in l.name()) | {w})
                        for w in ("car", "buy", "purchased", "large", "quickly", "ran", "geese", "better",
                                  "film", "happiest", "studies", "women", "leaves")}

os.makedirs(args.out, exist_ok=True)
with open(os.path.join(args.out, "corpus.json"), "w", encoding="utf-8") as f:
    json.dump(corpus, f, ensure_ascii=False, indent=0)
with open(os.path.join(args.out, "expected.json"), "w", encoding="utf-8") as f:
    json.dump(expected, f, ensure_ascii=False, indent=0)
print("pairs %d, bm25 queries %d, stem words %d (%d where NLTK's mode differs from 1980's)"
      % (len(pairs), sum(len(s["queries"]) for s in bm25_sets), len(stem_words), len(differ)))
