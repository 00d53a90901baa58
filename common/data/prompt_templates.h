// The PrLM prompt template of every task prlm knows (text/prompt.h says how a
// template becomes a prompt): which profile fields an item shows, the one long
// field the token budget may cut, the instruction with and without a profile,
// and the answer form {'key': '...'} (the task's answer_key). Classification
// and rating instructions list the task's labels.
// Thread-safe: the table is built once and immutable.
#pragma once

#include <string_view>

#include "common/text/prompt.h"

namespace prlm::data {

// By task name (TaskByName's spellings). Throws util::Error for an unknown task.
const text::PromptTemplate& PromptTemplateFor(std::string_view task);

}  // namespace prlm::data
