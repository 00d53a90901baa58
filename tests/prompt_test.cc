// PrLM prompt templates: ChatML layout, the profile token budget with carry
// forward, titles kept whole, the zero-shot variant, and a model's own chat
// template in ChatML's place with its tokens counted in the budget.
#include <gtest/gtest.h>

#include "common/data/prompt_templates.h"
#include "common/data/task.h"
#include "common/jinja/chat_template.h"
#include "common/text/prompt.h"
#include "common/text/tokenizer.h"
#include "tests/test_util.h"

namespace prlm::text {
namespace {

std::shared_ptr<const Tokenizer> FixtureTokenizer() {
  return Tokenizer::FromFile(std::string(PRLM_SOURCE_DIR) + "/tests/fixtures/qwen2-tied/tokenizer.json");
}

std::string Words(int n, const std::string& word) {
  std::string s;
  for (int i = 0; i < n; ++i) s += (i ? " " : "") + word + std::to_string(i);
  return s;
}

TEST(Prompt, ChatMlLayoutAndZeroShot) {
  const auto& t = data::PromptTemplateFor("LaMP_4");
  PromptOptions opt;
  opt.with_profile = false;
  const auto p = BuildPrompt(t, "the article", {{{"text", "old"}, {"title", "Old Title"}}}, nullptr, opt);
  EXPECT_EQ(p.text.rfind("<|im_start|>system\n", 0), 0u);
  EXPECT_NE(p.text.find("<think>"), std::string::npos);  // the system prompt asks for it
  EXPECT_NE(p.text.find("<|im_end|>\n<|im_start|>user\n"), std::string::npos);
  EXPECT_EQ(p.text.find("Old Title"), std::string::npos);  // no profile in zero-shot
  EXPECT_NE(p.text.find("Article: the article<|im_end|>\n<|im_start|>assistant\n"), std::string::npos);
  EXPECT_EQ(p.items_used, 0);
  testing::ExpectErrorContaining([] { data::PromptTemplateFor("LaMP_9"); }, {"LaMP_9", "LaMP_4"});
}

TEST(Prompt, BudgetCutsOnlyProfileTextAndCarriesUnusedForward) {
  const auto tok = FixtureTokenizer();
  const auto& t = data::PromptTemplateFor("LaMP_4");
  // Item 0 is short, items 1 and 2 are long: the short one's unused budget
  // goes to item 1, so item 1 keeps more text than item 2.
  std::vector<PromptItem> items = {{{"text", "short text"}, {"title", "Title Zero Kept Whole"}},
                                   {{"text", Words(400, "alpha")}, {"title", "Title One Kept Whole"}},
                                   {{"text", Words(400, "beta")}, {"title", "Title Two Kept Whole"}}};
  PromptOptions opt;
  opt.max_prompt_tokens = 400;
  const auto p = BuildPrompt(t, "a new article about things", items, tok.get(), opt);
  EXPECT_LE(static_cast<int>(p.ids.size()), opt.max_prompt_tokens);
  EXPECT_GT(static_cast<int>(p.ids.size()), opt.max_prompt_tokens - 20);  // budget is used
  EXPECT_FALSE(p.over_budget);
  EXPECT_EQ(p.items_used, 3);
  EXPECT_EQ(p.items_truncated, 2);
  for (const char* title : {"Title Zero Kept Whole", "Title One Kept Whole", "Title Two Kept Whole"})
    EXPECT_NE(p.text.find(title), std::string::npos) << title;
  EXPECT_NE(p.text.find("short text"), std::string::npos);
  size_t alpha = 0, beta = 0;
  for (size_t at = 0; (at = p.text.find("alpha", at)) != std::string::npos; ++at) ++alpha;
  for (size_t at = 0; (at = p.text.find("beta", at)) != std::string::npos; ++at) ++beta;
  EXPECT_GT(alpha, beta);
  EXPECT_GT(beta, 0u);
  EXPECT_NE(p.text.find("a new article about things"), std::string::npos);  // query never cut
  EXPECT_EQ(tok->Encode(p.text), p.ids);
}

TEST(Prompt, TheModelsChatTemplateRendersThePromptAndItsTokensCount) {
  const auto tok = FixtureTokenizer();
  const auto& t = data::PromptTemplateFor("LaMP_4");
  const std::vector<PromptItem> items = {{{"text", Words(400, "alpha")}, {"title", "T"}}};
  // A Llama-3-like template with a long preamble on every turn.
  const jinja::ChatTemplate chat(
      "{{ bos_token }}{% for m in messages %}<|start_header_id|>{{ m.role }}<|end_header_id|>\n\n"
      "Cutting Knowledge Date: December 2023 and more preamble words here\n{{ m.content | trim }}<|eot_id|>"
      "{% endfor %}{% if add_generation_prompt %}<|start_header_id|>assistant<|end_header_id|>\n\n{% endif %}",
      nlohmann::json{{"bos_token", "<|begin_of_text|>"}}, "test template");
  PromptOptions plain, templated;
  plain.max_prompt_tokens = templated.max_prompt_tokens = 700;
  templated.chat = [&](const auto& messages) { return chat.RenderTurns(messages); };
  const auto a = BuildPrompt(t, "the query", items, tok.get(), plain);
  const auto b = BuildPrompt(t, "the query", items, tok.get(), templated);
  EXPECT_EQ(b.text.rfind("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n", 0), 0u) << b.text;
  EXPECT_NE(b.text.find("the query<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"), std::string::npos);
  EXPECT_EQ(b.text.find("<|im_start|>"), std::string::npos);
  EXPECT_LE(static_cast<int>(b.ids.size()), 700);
  EXPECT_FALSE(b.over_budget);
  // The preamble's tokens come out of the profile's share.
  size_t alpha_a = 0, alpha_b = 0;
  for (size_t at = 0; (at = a.text.find("alpha", at)) != std::string::npos; ++at) ++alpha_a;
  for (size_t at = 0; (at = b.text.find("alpha", at)) != std::string::npos; ++at) ++alpha_b;
  EXPECT_LT(alpha_b, alpha_a);
  EXPECT_GT(alpha_b, 0u);
}

TEST(Prompt, DropsItemsWhenEvenTitlesDoNotFit) {
  const auto tok = FixtureTokenizer();
  const auto& t = data::PromptTemplateFor("LaMP_5");
  std::vector<PromptItem> items(50, PromptItem{{"title", Words(20, "w")}, {"abstract", "x"}});
  PromptOptions opt;
  opt.max_prompt_tokens = 700;
  const auto p = BuildPrompt(t, "query", items, tok.get(), opt);
  EXPECT_LT(p.items_used, 50);
  EXPECT_GT(p.items_used, 0);
  EXPECT_LE(static_cast<int>(p.ids.size()), 700);
  EXPECT_FALSE(p.over_budget);
}

TEST(Prompt, EveryTaskFitsItsBudgetWithLongProfiles) {
  // Every task's template, with items whose every field is long: the prompt
  // stays within the budget, keeps the question whole, shows each template
  // field, and asks for the task's answer key (and lists labels where the task has them).
  const auto tok = FixtureTokenizer();
  for (const auto& task : data::AllTasks()) {
    const auto& t = data::PromptTemplateFor(task.name);
    EXPECT_EQ(t.task, task.name);
    std::vector<PromptItem> items;
    for (int i = 0; i < 6; ++i) {
      PromptItem item;
      for (const auto& f : t.item_fields)
        item.emplace_back(f, f == t.truncated_field ? Words(300, f) : f + " value " + std::to_string(i));
      items.push_back(item);
    }
    PromptOptions opt;
    opt.max_prompt_tokens = 512;
    const std::string question = "the question of " + task.name;
    const auto p = BuildPrompt(t, question, items, tok.get(), opt);
    EXPECT_LE(static_cast<int>(p.ids.size()), opt.max_prompt_tokens) << task.name;
    EXPECT_FALSE(p.over_budget) << task.name;
    EXPECT_GT(p.items_used, 0) << task.name;
    EXPECT_GT(p.items_truncated, 0) << task.name;
    EXPECT_NE(p.text.find(question), std::string::npos) << task.name;
    EXPECT_NE(p.text.find("{'" + task.answer_key + "': '...'}"), std::string::npos) << task.name;
    for (const auto& f : t.item_fields)
      EXPECT_NE(p.text.find("'" + f + "': "), std::string::npos) << task.name << " " << f;
    if (task.metric == data::TaskMetric::kClassification) {
      for (const auto& label : task.labels)
        EXPECT_NE(t.instruction.find(label), std::string::npos) << task.name << " " << label;
    }
  }
}

}  // namespace
}  // namespace prlm::text
