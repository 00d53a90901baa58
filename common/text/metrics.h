// Text-generation metrics: ROUGE-1/2/L and BLEU-4.
//
// ROUGE follows Google's rouge-score package (the one LaMP's evaluator uses
// through `evaluate`): Python's lower() (so U+0130 becomes "i" plus a
// separating mark), every run of characters outside [a-z0-9] becomes a space,
// split on spaces, optional stemming of tokens longer than 3 characters with
// NLTK's default PorterStemmer; ROUGE-N counts clipped n-gram overlap, ROUGE-L
// is the sentence-level longest common subsequence; F = 2PR / (P + R), 0 when
// P + R = 0.
//
// BLEU is sacreBLEU's (v2.6) default corpus BLEU: each segment right-stripped,
// then the 13a tokenizer (mteval's replacements as whole-line passes, its
// regular expressions as non-overlapping substitutions, Python's str.split()
// on every Unicode whitespace), case-sensitive,
// n = 1..4 with uniform weights, clipped counts against the references'
// maximum, closest reference length (shorter wins ties) for the brevity
// penalty, and the "exp" smoothing for orders with no match. Scores are 0-100.
// SentenceBleu uses the effective order (orders the hypothesis has), as
// sacreBLEU's sentence_bleu does.
//
// Thread-safe: pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace prlm::text {

struct RougeScore {
  double precision = 0, recall = 0, f = 0;
};
struct RougeScores {
  RougeScore rouge1, rouge2, rougeL;
};

std::vector<std::string> RougeTokenize(std::string_view text, bool stem = false);
// rouge-score's argument order: the reference (target) first, then the prediction.
RougeScores Rouge(std::string_view target, std::string_view prediction, bool stem = false);

struct BleuScore {
  double score = 0;                     // 0..100
  double precisions[4] = {0, 0, 0, 0};  // 0..100, after smoothing
  double brevity_penalty = 0;
  size_t hypothesis_length = 0, reference_length = 0;
};

std::vector<std::string> Tokenize13a(std::string_view text);
// references[r][i] is reference r of hypothesis i (sacreBLEU's layout).
BleuScore CorpusBleu(const std::vector<std::string>& hypotheses,
                     const std::vector<std::vector<std::string>>& references);
BleuScore SentenceBleu(std::string_view hypothesis, const std::vector<std::string>& references);

}  // namespace prlm::text
