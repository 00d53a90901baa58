// METEOR as NLTK's `nltk.translate.meteor_score` computes it (NLTK 3.8):
//
//   1. Both token lists lower-cased (Python's str.lower).
//   2. Alignment in three stages, each over the words still unmatched, walking
//      the hypothesis from its last word and, for each, the reference from its
//      last word, taking the first equal one: exact words; then Porter stems
//      (NLTK's default stemmer; the stems replace the words for what follows);
//      then WordNet synonyms (a reference word among the hypothesis word's
//      synonyms, see wordnet.h).
//   3. P = m / |hyp|, R = m / |ref|, Fmean = P R / (alpha P + (1 - alpha) R),
//      chunks = runs of matches adjacent in both (matches sorted by hypothesis
//      position), penalty = gamma (chunks / m)^beta, score = (1 - penalty) Fmean;
//      0 when nothing matches or either side is empty.
//   Defaults alpha = 0.9, beta = 3, gamma = 0.5. With several references the
//   score is the best over them (NLTK's meteor_score).
//
// `Meteor(reference, prediction)` tokenizes both with NltkWordTokenize, as
// Hugging Face's `evaluate` METEOR (LongLaMP's evaluator) does per sentence.
// Thread-safe: pure given an immutable WordNet.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace prlm::text {

class WordNet;

struct MeteorParams {
  double alpha = 0.9, beta = 3.0, gamma = 0.5;
};

double SingleMeteorScore(const std::vector<std::string>& reference, const std::vector<std::string>& hypothesis,
                         const WordNet& wordnet, const MeteorParams& params = {});

// Tokenizes, then SingleMeteorScore with WordNet::Default() (throws util::Error
// when the database is missing).
double Meteor(std::string_view reference, std::string_view prediction, const MeteorParams& params = {});

}  // namespace prlm::text
