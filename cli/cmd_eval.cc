// prlm eval: greedy decoding over a held-out split through the same retrieval
// and prompt code as training, scored with ROUGE-1/2/L, BLEU-4, the format
// rate and the training reward; a sweep over retrievers and k in one run.
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <sstream>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/compute_options.h"
#include "cli/policy_options.h"
#include "cli/retriever_options.h"
#include "common/retrieval/profile_prompts.h"
#include "common/text/answer.h"
#include "common/text/metrics.h"
#include "common/util/check.h"
#include "common/util/file.h"
#include "reward_server/scorer_setup.h"

namespace prlm::cli {
namespace {

using Json = nlohmann::ordered_json;

std::string MarkdownTable(const Json& rows) {
  std::string out = "| model | retriever | k | n | ROUGE-1 | ROUGE-2 | ROUGE-L | BLEU | format | reward |\n"
                    "|---|---|---|---|---|---|---|---|---|---|\n";
  char buf[512];
  for (const auto& r : rows) {
    std::snprintf(buf, sizeof buf, "| %s | %s | %s | %lld | %.4f | %.4f | %.4f | %.2f | %.3f | %.4f |\n",
                  r["name"].get<std::string>().c_str(), r["retriever"].get<std::string>().c_str(),
                  r["k"].is_null() ? "-" : std::to_string(r["k"].get<int>()).c_str(),
                  static_cast<long long>(r["n"].get<int64_t>()), r["rouge1"].get<double>(),
                  r["rouge2"].get<double>(), r["rougeL"].get<double>(), r["bleu"].get<double>(),
                  r["format"].get<double>(), r["reward"].get<double>());
    out += buf;
  }
  return out;
}

}  // namespace

int RunEval(int argc, char** argv) {
  Args args("eval",
            "Greedy answers over a held-out split through the training job's retrieval and prompt code;\n"
            "ROUGE-1/2/L F and BLEU-4 of the answer (after </think>) against gold, the share of well-formed\n"
            "completions, and the training reward. --retriever and --k take comma lists: every pair is\n"
            "evaluated (PrLM's robustness study). Prints a markdown table; --out writes the rows as JSON.");
  args.Option("model", "DIR", "", "Qwen2 policy directory", true)
      .Option("name", "LABEL", "", "the model's name in the table (default: the directory's name)")
      .Option("data", "DIR", "", "LaMP-format directory", true)
      .Option("split", "NAME", "test", "dev or test (held-out users)")
      .Option("task", "NAME", "", "task, when no outputs file names it")
      .Flag("zero-shot", "no profile in the prompt (ignores --retriever and --k)")
      .Option("max-prompt-tokens", "N", "512", "prompt limit (the profile is cut to fit)")
      .Option("max-new-tokens", "N", "128", "completion limit")
      .Flag("open-think", "end prompts with \"<think>\\n\" (R1-style policies)")
      .Option("batch-size", "N", "16", "questions per generation batch")
      .Option("limit", "N", "0", "only the first N questions (0: all)")
      .Option("reward-model", "DIR", "", "reward model for the personalization term (none: w-pers counts 0)")
      .Option("w-acc", "X", "1.0", "reward weight of ROUGE-1+2+L F").Option("w-fmt", "X", "0.1", "reward weight of format")
      .Option("w-pers", "X", "0.1", "reward weight of sigmoid(reward model)")
      .Option("out", "FILE", "", "write the rows as JSON (with --append: add to the rows already there)")
      .Flag("append", "keep the rows already in --out")
      .Option("completions", "FILE", "", "write every completion, its answer and the gold output (JSON lines)");
  AddRetrieverOptions(args, "comma list of bm25, dense, dense_hnsw, recency, random", "comma list of k values");
  AddComputeOptions(args);
  if (!args.Parse(argc, argv)) return 0;
  const auto retrievers = SplitList(args.Get("retriever"));
  std::vector<int> ks;
  for (const auto& k : SplitList(args.Get("k"))) ks.push_back(std::stoi(k));
  PRLM_REQUIRE(!retrievers.empty() && !ks.empty(), "--retriever and --k need at least one value each");
  PRLM_REQUIRE(args.GetInt("batch-size") >= 1, "--batch-size must be at least 1");
  const data::TaskSpec* task = args.Get("task").empty() ? nullptr : &data::TaskByName(args.Get("task"));
  data::Dataset dataset = data::LoadLampSplit(args.Get("data"), args.Get("split"), task);
  if (args.GetInt("limit") > 0 && static_cast<size_t>(args.GetInt("limit")) < dataset.examples.size())
    dataset.examples.resize(static_cast<size_t>(args.GetInt("limit")));
  for (const auto& ex : dataset.examples)
    PRLM_REQUIRE(ex.output.has_value(), dataset.source << ": question '" << ex.id << "' has no gold output");
  auto policy = LoadPolicy(args.Get("model"), args);
  model::SamplingParams sampling;
  sampling.greedy = true;
  sampling.max_new_tokens = args.GetInt("max-new-tokens");
  AddStopTokens(sampling, *policy.tokenizer, policy.model->config());
  reward::ScorerSetup rs;
  rs.w_acc = args.GetDouble("w-acc");
  rs.w_fmt = args.GetDouble("w-fmt");
  rs.w_pers = args.Has("reward-model") ? args.GetDouble("w-pers") : 0.0;
  rs.model = args.Get("reward-model");
  auto scorer = reward::MakeRewardScorer(rs);
  const bool zero_shot = args.GetFlag("zero-shot");
  std::unique_ptr<retrieval::ProfileRetriever> retriever;
  if (!zero_shot) retriever = OpenRetriever(args, {&dataset}, retrievers);
  const std::string name = args.Has("name") ? args.Get("name")
                                            : std::filesystem::path(args.Get("model")).filename().string();

  Json rows = Json::array();
  const std::string out_path = args.Get("out");
  if (args.GetFlag("append") && !out_path.empty() && std::filesystem::exists(out_path)) {
    try {
      rows = Json::parse(ReadFile(out_path));
    } catch (const nlohmann::json::exception& e) {
      PRLM_THROW(out_path << ": cannot append to it: " << e.what());
    }
    PRLM_REQUIRE(rows.is_array(), out_path << ": cannot append to it: not a JSON array of rows");
  }
  std::vector<std::pair<std::string, int>> sweep;
  if (zero_shot) sweep.push_back({"none", 0});
  else
    for (const auto& r : retrievers)
      for (int k : ks) sweep.push_back({r, k});
  for (const auto& [retriever_name, k] : sweep) {
    const auto t0 = std::chrono::steady_clock::now();
    // 1. Prompts through the retrieval tier's code, as in training.
    retrieval::ProfilePromptOptions po;
    po.retriever = retriever_name;
    po.k = std::max(k, 1);
    po.prompt.max_prompt_tokens = args.GetInt("max-prompt-tokens");
    po.prompt.open_think = args.GetFlag("open-think");
    po.prompt.with_profile = !zero_shot;
    std::vector<retrieval::ProfileQuestion> questions;
    for (const auto& ex : dataset.examples) questions.push_back({ex.user_id, ex.query});
    const auto prompts = retrieval::BuildProfilePrompts(retriever.get(), text::PromptTemplateFor(dataset.task->name),
                                                        *policy.tokenizer, questions, po);
    // 2. Greedy answers, in batches.
    std::vector<size_t> asked;
    for (size_t i = 0; i < prompts.size(); ++i)
      if (prompts[i].error.empty()) asked.push_back(i);
    std::vector<std::string> completions(prompts.size());
    const size_t batch = static_cast<size_t>(args.GetInt("batch-size"));
    for (size_t b = 0; b < asked.size(); b += batch) {
      std::vector<model::GenerationRequest> requests;
      for (size_t j = b; j < std::min(asked.size(), b + batch); ++j) requests.push_back({prompts[asked[j]].built.ids, {0}});
      torch::NoGradGuard no_grad;
      const auto out = model::Generate(policy.model, requests, sampling);
      for (size_t j = 0; j < out.size(); ++j)
        completions[asked[b + j]] = policy.tokenizer->Decode(out[j][0].tokens, /*skip_special_tokens=*/true);
      std::fprintf(stderr, "eval %s %s k=%d: %zu/%zu questions\n", name.c_str(), retriever_name.c_str(), k,
                   std::min(asked.size(), b + batch), asked.size());
    }
    // 3. Scores of the answers (a question that could not be asked scores 0).
    double r1 = 0, r2 = 0, rl = 0, fmt = 0, reward = 0;
    std::vector<std::string> hypotheses;
    std::vector<std::vector<std::string>> references(1);
    proto::ScoreRequest request;
    for (size_t i = 0; i < dataset.examples.size(); ++i) {
      const auto& ex = dataset.examples[i];
      const auto answer = text::ExtractAnswer(completions[i]);
      const auto rouge = text::Rouge(*ex.output, answer.answer);
      r1 += rouge.rouge1.f, r2 += rouge.rouge2.f, rl += rouge.rougeL.f;
      hypotheses.push_back(answer.answer);
      references[0].push_back(*ex.output);
      auto* item = request.add_items();
      item->set_query(ex.input);
      item->set_completion(completions[i]);
      item->set_gold(*ex.output);
      item->set_user_id(ex.user_id);
    }
    if (args.Has("completions")) {
      std::string lines;
      for (size_t i = 0; i < dataset.examples.size(); ++i) {
        Json j;
        j["id"] = dataset.examples[i].id;
        j["retriever"] = retriever_name;
        j["k"] = k;
        j["completion"] = completions[i];
        j["answer"] = hypotheses[i];
        j["gold"] = *dataset.examples[i].output;
        if (!prompts[i].error.empty()) j["error"] = prompts[i].error;
        lines += j.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
      }
      WriteFileAtomic(args.Get("completions"), lines);
    }
    const auto reply = scorer->ScoreNow(request);
    PRLM_REQUIRE(reply.status() == proto::ScoreReply::OK, "eval: scoring failed: " << reply.error());
    for (const auto& s : reply.items()) {
      reward += s.reward();
      for (const auto& c : s.components())
        if (c.name() == "format") fmt += c.value();
    }
    const double n = static_cast<double>(std::max<size_t>(1, dataset.examples.size()));
    Json row;
    row["name"] = name;
    row["model"] = args.Get("model");
    row["split"] = args.Get("split");
    row["retriever"] = retriever_name;
    row["k"] = zero_shot ? Json(nullptr) : Json(k);
    row["n"] = dataset.examples.size();
    row["skipped"] = dataset.examples.size() - asked.size();
    row["rouge1"] = r1 / n;
    row["rouge2"] = r2 / n;
    row["rougeL"] = rl / n;
    row["bleu"] = text::CorpusBleu(hypotheses, references).score;
    if (rs.w_fmt == 0) {  // the scorer has no format component then: count it here
      fmt = 0;
      for (const auto& c : completions) fmt += text::HasReasoningFormat(c) ? 1 : 0;
    }
    row["format"] = fmt / n;
    row["reward"] = reward / n;
    row["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    rows.push_back(row);
  }
  std::printf("%s", MarkdownTable(rows).c_str());
  if (!out_path.empty()) WriteFileAtomic(out_path, rows.dump(2) + "\n");
  return 0;
}

}  // namespace prlm::cli
