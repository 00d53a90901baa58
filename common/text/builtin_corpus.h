// A small deterministic English corpus (news-headline and abstract-like
// sentences built from fixed word lists) so that the demo and the tests can
// train a tokenizer with nothing downloaded. Thread-safe: a pure function.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace prlm::text {

std::vector<std::string> BuiltinCorpus(int sentences, uint64_t seed);

}  // namespace prlm::text
