#include "common/jinja/chat_template.h"

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "common/util/check.h"
#include "common/util/file.h"

namespace prlm::jinja {
namespace {

std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw TemplateError("cannot read " + path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// "<s>" or {"content": "<s>", ...} (an AddedToken as tokenizer_config.json writes it).
std::optional<std::string> TokenText(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("content") && v["content"].is_string()) return v["content"].get<std::string>();
  return std::nullopt;
}

}  // namespace

ChatTemplate::ChatTemplate(const std::string& source, const nlohmann::json& config, std::string origin)
    : origin_(std::move(origin)) {
  try {
    template_ = Template::Parse(source);
  } catch (const TemplateError& e) {
    throw TemplateError(origin_ + ": " + e.what());
  }
  for (const char* name : {"bos_token", "eos_token", "unk_token", "pad_token", "sep_token", "cls_token", "mask_token"})
    if (config.is_object() && config.contains(name))
      if (const auto text = TokenText(config[name])) special_tokens_.emplace_back(name, Value(*text));
}

std::optional<ChatTemplate> ChatTemplate::FromModelDir(const std::string& dir) {
  const std::string config_path = dir + "/tokenizer_config.json";
  nlohmann::json config = nlohmann::json::object();
  if (std::filesystem::exists(config_path)) {
    try {
      config = nlohmann::json::parse(ReadText(config_path));
    } catch (const nlohmann::json::exception& e) {
      throw TemplateError(config_path + " is not JSON: " + e.what());
    }
  }
  const std::string jinja_path = dir + "/chat_template.jinja";
  if (std::filesystem::exists(jinja_path)) return ChatTemplate(ReadText(jinja_path), config, jinja_path);
  if (!config.is_object() || !config.contains("chat_template") || config["chat_template"].is_null())
    return std::nullopt;
  const auto& t = config["chat_template"];
  if (t.is_string()) return ChatTemplate(t.get<std::string>(), config, config_path);
  if (t.is_array())
    for (const auto& named : t)
      if (named.is_object() && named.value("name", "") == "default" && named.contains("template") &&
          named["template"].is_string())
        return ChatTemplate(named["template"].get<std::string>(), config, config_path + " (default)");
  throw TemplateError(config_path + ": chat_template must be a string or a list holding a \"default\" template");
}

std::string ChatTemplate::Render(const nlohmann::ordered_json& messages, bool add_generation_prompt,
                                 const nlohmann::ordered_json& extra) const {
  if (!messages.is_array()) throw TemplateError("chat template: messages must be a JSON list");
  Dict vars = special_tokens_;
  vars.emplace_back("messages", Value::FromJson(messages));
  vars.emplace_back("add_generation_prompt", Value(add_generation_prompt));
  Value context(std::move(vars));
  if (extra.is_object())
    for (const auto& [k, v] : extra.items()) context.Set(k, Value::FromJson(v));
  try {
    return template_.Render(context);
  } catch (const TemplateError& e) {
    throw TemplateError(origin_ + ": " + e.what());
  }
}

std::string ChatTemplate::RenderTurns(const std::vector<std::pair<std::string, std::string>>& messages) const {
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const auto& [role, content] : messages) list.push_back({{"role", role}, {"content", content}});
  return Render(list, /*add_generation_prompt=*/true);
}

std::function<std::string(const std::vector<std::pair<std::string, std::string>>&)> ChatRendererFor(
    const std::string& dir, std::string* origin) {
  auto chat = ChatTemplate::FromModelDir(dir);
  if (origin) *origin = chat ? chat->origin() : "ChatML (the model has no chat template)";
  if (!chat) return {};
  auto shared = std::make_shared<const ChatTemplate>(std::move(*chat));
  return [shared](const std::vector<std::pair<std::string, std::string>>& messages) {
    return shared->RenderTurns(messages);
  };
}

Conversation ReadConversation(const std::string& path) {
  nlohmann::ordered_json given;
  try {
    given = nlohmann::ordered_json::parse(util::ReadFile(path));
  } catch (const nlohmann::json::exception& e) {
    PRLM_THROW(path << " is not JSON: " << e.what());
  }
  Conversation c;
  c.messages = given;
  if (given.is_object()) {
    PRLM_REQUIRE(given.contains("messages"), path << ": the object has no \"messages\"");
    c.messages = given["messages"];
    for (const auto& [k, v] : given.items())
      if (k != "messages") c.extra[k] = v;
  }
  PRLM_REQUIRE(c.messages.is_array(), path << ": messages must be a JSON list");
  return c;
}

}  // namespace prlm::jinja
