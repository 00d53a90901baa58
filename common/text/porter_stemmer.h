// The Porter (1980) suffix-stripping stemmer, as in Porter's paper: steps 1a
// to 5b with the measure conditions (NLTK's ORIGINAL_ALGORITHM mode). NLTK's
// default mode adds a handful of extensions (special words such as "dying",
// "-ies" on four-letter words, "-logi"); those are not applied here.
// Input is expected lowercase ASCII (ROUGE tokens are). Thread-safe: pure.
#pragma once

#include <string>
#include <string_view>

namespace prlm::text {

std::string PorterStem(std::string_view word);

}  // namespace prlm::text
