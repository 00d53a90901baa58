// PrLM prompts: a system message asking for reasoning in <think> and the final
// answer in <answer>, a user message listing the retrieved profile items and
// the task's instruction and query, in the policy's own chat template
// (PromptOptions::chat, common/jinja/chat_template.h) or, for models without
// one, ChatML. The budget below counts the template's tokens too.
//
// Profile budget (PrLM's rule, applied to the profile text only): the tokens
// left after everything else (system message, instruction, query, item
// labels and every item's kept-whole fields such as titles) are split evenly
// over the k items; an item that needs fewer passes its unused budget on to
// the next; only the template's long field (an article's text, an abstract,
// a tweet) is cut, at a token boundary. The query is never cut: if the rest
// alone exceeds the limit, items are dropped from the end and `over_budget`
// tells whether even that was not enough.
//
// Zero-shot variants (no profile) use their own instruction.
//
// Thread-safe: templates are immutable; BuildPrompt is pure.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace prlm::text {

class Tokenizer;

struct PromptTemplate {
  std::string task;                      // "LaMP_4"
  std::vector<std::string> item_fields;  // rendered in order: 'text': ... 'title': ...
  std::string truncated_field;           // the one field the budget may cut
  std::string profile_intro;
  std::string instruction;            // with profile
  std::string zero_shot_instruction;  // without
  std::string query_label;            // "Article:"
  // The question is shown whole (LaMP-1's names both candidates), not the
  // retrieval query cut out of it.
  bool shows_input = false;
};

// Every task's template is in common/data/prompt_templates.h.
const std::string& ReasoningSystemPrompt();

// One profile item as the prompt sees it: field name -> text.
using PromptItem = std::vector<std::pair<std::string, std::string>>;

// Renders (role, content) messages as the model's chat template does, ending
// with the assistant turn's opening (add_generation_prompt).
using ChatRenderer = std::function<std::string(const std::vector<std::pair<std::string, std::string>>& messages)>;

struct PromptOptions {
  int max_prompt_tokens = 512;  // the whole formatted prompt
  ChatRenderer chat;            // empty: ChatML
  bool with_profile = true;     // false: the zero-shot variant
  bool open_think = false;      // end the prompt with "<think>\n" (R1-style templates)
};

struct BuiltPrompt {
  std::string text;          // the chat template's text, ending with the assistant turn's header
  std::vector<int32_t> ids;  // text encoded (empty without a tokenizer)
  int items_used = 0;        // items that made it into the prompt
  int items_truncated = 0;   // items whose long field was cut
  bool over_budget = false;  // still longer than max_prompt_tokens
};

// `tokenizer` may be null: then nothing is counted or cut.
BuiltPrompt BuildPrompt(const PromptTemplate& tmpl, std::string_view query, const std::vector<PromptItem>& items,
                        const Tokenizer* tokenizer, const PromptOptions& options);

// The tokens that end a policy's answer: its config's EOS ids when it names
// any, else the ChatML end tokens the tokenizer has.
std::vector<int32_t> StopTokenIds(const std::vector<int64_t>& config_eos_ids, const Tokenizer& tokenizer);

// ChatML: <|im_start|>role\ncontent<|im_end|>\n ... then <|im_start|>assistant\n.
std::string ChatMl(const std::vector<std::pair<std::string, std::string>>& messages);

}  // namespace prlm::text
