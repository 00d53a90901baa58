// The Porter stemmer as NLTK's `PorterStemmer()` runs it by default (mode
// NLTK_EXTENSIONS), which is what rouge-score and NLTK's METEOR use: Porter's
// (1980) steps 1a to 5b with the measure conditions, plus NLTK's extensions --
// a few irregular words ("dying" -> "die", "skies" -> "sky", "news"), "-ies" and
// "-ied" on four-letter words, y -> i only after a consonant that is not the
// whole stem, "-bli" -> "-ble", "-alli", "-fulli", "-logi", and the cvc test
// accepting a two-letter vowel-consonant stem.
//
// Input is a lower-cased word (ROUGE tokens and METEOR's words are); other
// characters count as consonants, one per code point, as in NLTK. Words of one
// or two characters come back unchanged.
// Thread-safe: pure.
#pragma once

#include <string>
#include <string_view>

namespace prlm::text {

std::string PorterStem(std::string_view word);

}  // namespace prlm::text
