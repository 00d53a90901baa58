// A model directory's chat template, rendered as transformers'
// apply_chat_template renders it: the template from DIR/chat_template.jinja,
// else tokenizer_config.json's "chat_template" (a string, or the entry named
// "default" of a list of {name, template}); the variables messages, tools
// (when given), add_generation_prompt, the special tokens of
// tokenizer_config.json (bos_token, eos_token, unk_token, pad_token, as
// strings) and any extra ones (enable_thinking, ...).
//
// Errors: a template that does not parse (an unsupported construct) or
// fails while rendering throws jinja::TemplateError naming the file and the
// template line; a missing or malformed tokenizer_config.json throws too.
// Thread-safety: an immutable value once loaded.
#pragma once

#include <nlohmann/json.hpp>

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/jinja/template.h"

namespace prlm::jinja {

class ChatTemplate {
 public:
  // nullopt when the directory has no chat template.
  static std::optional<ChatTemplate> FromModelDir(const std::string& dir);
  // From template text and tokenizer_config.json's content (for its special tokens).
  ChatTemplate(const std::string& source, const nlohmann::json& tokenizer_config, std::string origin);

  // messages: a JSON list of {role, content, ...}; extra: more variables
  // (an object), e.g. {"enable_thinking": false} or {"tools": [...]}.
  // Both keep their objects' key order (tojson writes dicts in that order).
  std::string Render(const nlohmann::ordered_json& messages, bool add_generation_prompt,
                     const nlohmann::ordered_json& extra = nlohmann::ordered_json::object()) const;

  const std::string& origin() const { return origin_; }

  // (role, content) messages -> the text, with add_generation_prompt: what
  // text::PromptOptions::chat takes. Throws TemplateError as Render does.
  std::string RenderTurns(const std::vector<std::pair<std::string, std::string>>& messages) const;

 private:
  Template template_;
  Dict special_tokens_;
  std::string origin_;  // the file it came from, for messages
};

// A conversation file as prlm chat-template reads it: a JSON list of {role,
// content}, or an object {messages, tools, ...} whose other keys are passed
// to the template as variables (Render's `extra`). Throws util::Error naming
// the file when it is not JSON or has no list of messages.
struct Conversation {
  nlohmann::ordered_json messages;
  nlohmann::ordered_json extra = nlohmann::ordered_json::object();
};
Conversation ReadConversation(const std::string& path);

// DIR's chat template as a prompt renderer (text::PromptOptions::chat), or an
// empty function when DIR has none (ChatML then). *origin says which.
std::function<std::string(const std::vector<std::pair<std::string, std::string>>&)> ChatRendererFor(
    const std::string& dir, std::string* origin = nullptr);

}  // namespace prlm::jinja
