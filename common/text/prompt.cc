#include "common/text/prompt.h"

#include <algorithm>

#include "common/text/tokenizer.h"
#include "common/util/check.h"

namespace prlm::text {
namespace {

std::string RenderItem(const PromptTemplate& tmpl, const PromptItem& item, size_t number,
                       const std::string* truncated_text) {
  std::string line = std::to_string(number) + ".";
  for (const auto& name : tmpl.item_fields) {
    const std::string* value = nullptr;
    for (const auto& [k, v] : item)
      if (k == name) value = &v;
    if (name == tmpl.truncated_field && truncated_text) value = truncated_text;
    if (!value) continue;
    line += " '" + name + "': " + *value;
  }
  return line;
}

std::string UserMessage(const PromptTemplate& tmpl, std::string_view query, const std::vector<std::string>& item_lines,
                        bool with_profile) {
  std::string msg;
  if (with_profile) {
    msg += tmpl.profile_intro + "\n";
    for (const auto& line : item_lines) msg += line + "\n";
    msg += "\n" + tmpl.instruction;
  } else {
    msg += tmpl.zero_shot_instruction;
  }
  msg += "\n" + tmpl.query_label + " ";
  msg += query;
  return msg;
}

// The first `n` tokens of `text`, decoded; a character split by the cut
// (decoded as U+FFFD at the end) is dropped.
std::string TokenPrefix(const Tokenizer& tok, const std::vector<int32_t>& ids, size_t n) {
  std::string s = tok.Decode(std::span<const int32_t>(ids.data(), std::min(n, ids.size())));
  while (s.size() >= 3 && s.compare(s.size() - 3, 3, "\xEF\xBF\xBD") == 0) s.resize(s.size() - 3);
  return s;
}

}  // namespace

const std::string& ReasoningSystemPrompt() {
  static const std::string prompt =
      "You are a writing assistant that personalizes its answers. First reason privately about "
      "the user's earlier writing and what it shows about their preferences, inside <think> "
      "</think>. Then give only the final answer inside <answer> </answer>.";
  return prompt;
}

std::string ChatMl(const std::vector<std::pair<std::string, std::string>>& messages) {
  std::string out;
  for (const auto& [role, content] : messages) out += "<|im_start|>" + role + "\n" + content + "<|im_end|>\n";
  out += "<|im_start|>assistant\n";
  return out;
}

BuiltPrompt BuildPrompt(const PromptTemplate& tmpl, std::string_view query, const std::vector<PromptItem>& items,
                        const Tokenizer* tokenizer, const PromptOptions& options) {
  const bool with_profile = options.with_profile && !items.empty();
  auto assemble = [&](const std::vector<std::string>& lines) {
    const std::vector<std::pair<std::string, std::string>> messages = {
        {"system", ReasoningSystemPrompt()}, {"user", UserMessage(tmpl, query, lines, options.with_profile)}};
    std::string text = options.chat ? options.chat(messages) : ChatMl(messages);
    if (options.open_think) text += "<think>\n";
    return text;
  };
  auto count = [&](const std::string& s) { return static_cast<int>(tokenizer->Encode(s).size()); };

  BuiltPrompt out;
  size_t n_items = with_profile ? items.size() : 0;
  std::vector<std::string> lines;
  static const std::string kEmpty;
  if (!tokenizer) {
    for (size_t i = 0; i < n_items; ++i) lines.push_back(RenderItem(tmpl, items[i], i + 1, nullptr));
    out.text = assemble(lines);
    out.items_used = static_cast<int>(n_items);
    return out;
  }

  // 1. The fixed part: everything with the long fields emptied. Drop items
  //    from the end while even that does not fit.
  int fixed = 0;
  while (true) {
    lines.clear();
    for (size_t i = 0; i < n_items; ++i) lines.push_back(RenderItem(tmpl, items[i], i + 1, &kEmpty));
    fixed = count(assemble(lines));
    if (fixed <= options.max_prompt_tokens || n_items == 0) break;
    --n_items;
  }
  // 2. Split what is left over the items, carrying unused budget forward. The
  //    pieces are counted apart, so the assembled prompt can differ by a few
  //    tokens; shrink the budget by the excess and redo (converges fast).
  int budget = options.max_prompt_tokens - fixed;
  for (int attempt = 0; attempt < 8; ++attempt) {
    lines.clear();
    out.items_truncated = 0;
    const int per_item = n_items ? budget / static_cast<int>(n_items) : 0;
    int carry = 0;
    for (size_t i = 0; i < n_items; ++i) {
      const int allowed = per_item + carry;
      std::string text;
      for (const auto& [k, v] : items[i])
        if (k == tmpl.truncated_field) text = v;
      const auto ids = tokenizer->Encode(text);
      if (static_cast<int>(ids.size()) <= allowed) {
        carry = allowed - static_cast<int>(ids.size());
      } else {
        text = TokenPrefix(*tokenizer, ids, static_cast<size_t>(std::max(allowed, 0)));
        carry = 0;
        ++out.items_truncated;
      }
      lines.push_back(RenderItem(tmpl, items[i], i + 1, &text));
    }
    out.text = assemble(lines);
    out.ids = tokenizer->Encode(out.text);
    const int excess = static_cast<int>(out.ids.size()) - options.max_prompt_tokens;
    if (excess <= 0 || budget <= 0) break;
    budget -= excess;
  }
  out.items_used = static_cast<int>(n_items);
  out.over_budget = static_cast<int>(out.ids.size()) > options.max_prompt_tokens;
  return out;
}

std::vector<int32_t> StopTokenIds(const std::vector<int64_t>& config_eos_ids, const Tokenizer& tokenizer) {
  std::vector<int32_t> ids;
  for (int64_t id : config_eos_ids) ids.push_back(static_cast<int32_t>(id));
  if (ids.empty())
    for (const char* s : {"<|im_end|>", "<|endoftext|>"})
      if (auto id = tokenizer.TokenToId(s)) ids.push_back(*id);
  return ids;
}

}  // namespace prlm::text
