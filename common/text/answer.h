// Pulling the final answer out of a reasoning completion.
//
// PrLM's policy writes "<think> ... </think>" and then "<answer> ... </answer>".
// The answer is looked for only after the last "</think>", so a title the
// model drafts inside its reasoning is never taken for the answer (the
// reference implementation's known flaw). Inside, "<answer>...</answer>" is
// preferred when present (a missing "</answer>" runs to the end), and the
// dictionary forms the prompts ask for -- {'title': '...'}, {"title": "..."},
// 'title': '...' -- are unwrapped, apostrophes inside the value included.
//
// Thread-safe: pure functions.
#pragma once

#include <string>
#include <string_view>

namespace prlm::text {

struct ExtractedAnswer {
  bool closed_think = false;  // the completion contains "</think>"
  bool answer_tags = false;   // "<answer>" follows it
  bool found = false;         // a non-empty answer follows "</think>"
  std::string answer;
};

ExtractedAnswer ExtractAnswer(std::string_view completion);

// PrLM's format reward: true when the completion has the reasoning form
//   [<think>] reasoning </think> answer
// i.e. exactly one "</think>"; before it at most one "<think>", with only
// whitespace ahead of it (the prompt may have opened it already), and some
// non-space reasoning; after it a non-empty answer, with no further
// "<think>"; an "<answer>" there must be closed by "</answer>" with only
// whitespace after.
bool HasReasoningFormat(std::string_view completion);

// {'title': 'x'} -> x; "x" -> x; anything else is returned stripped.
std::string UnwrapAnswerValue(std::string_view text);

}  // namespace prlm::text
