// The prlm executable end to end: help, option errors, init-model, tokenize,
// generate, logprobs, and what bad input gets.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <array>
#include <cstdio>
#include <filesystem>
#include <sstream>

#include "common/util/file.h"
#include "tests/test_util.h"

namespace {

prlm::testing::ShellResult RunPrlm(const std::string& args) {
  return prlm::testing::Shell(std::string(PRLM_BINARY) + " " + args);
}

TEST(Cli, HelpListsEveryCommandAndOption) {
  const auto top = RunPrlm("--help");
  EXPECT_EQ(top.code, 0);
  for (const char* c : {"demo", "tokenize", "train-tokenizer", "init-model", "generate", "logprobs", "bench"})
    EXPECT_NE(top.out.find(c), std::string::npos) << c;
  const auto gen = RunPrlm("generate --help");
  EXPECT_EQ(gen.code, 0);
  for (const char* o : {"--model", "--prompt", "--input", "--max-new-tokens", "--temperature", "--top-p", "--top-k",
                        "--seed", "--greedy"})
    EXPECT_NE(gen.out.find(o), std::string::npos) << o;
}

TEST(Cli, UnknownCommandAndOptionAreNamed) {
  const auto cmd = RunPrlm("frobnicate");
  EXPECT_EQ(cmd.code, 2);
  EXPECT_NE(cmd.out.find("unknown command 'frobnicate'"), std::string::npos);
  const auto opt = RunPrlm("tokenize --tokenizr x");
  EXPECT_EQ(opt.code, 1);
  EXPECT_NE(opt.out.find("unknown option '--tokenizr'"), std::string::npos) << opt.out;
  EXPECT_NE(opt.out.find("--tokenizer"), std::string::npos) << opt.out;
  const auto missing = RunPrlm("tokenize");
  EXPECT_NE(missing.out.find("--tokenizer is required"), std::string::npos) << missing.out;
}

// Flags of single-process commands map onto the training config's keys: the
// default shown is the key's, and a bad value is refused naming flag and key.
TEST(Cli, CommandFlagsAreConfigKeysWithOneDefaultAndOneCheck) {
  const auto help = RunPrlm("serve-reward --help");
  EXPECT_EQ(help.code, 0);
  EXPECT_NE(help.out.find("(reward.w_fmt) (default: 0.1)"), std::string::npos) << help.out;
  EXPECT_NE(help.out.find("(reward.max_batch_size) (default: 32)"), std::string::npos) << help.out;
  const auto zero = RunPrlm("serve-reward --w-pers 0 --max-batch-size 0");
  EXPECT_EQ(zero.code, 1);
  EXPECT_NE(zero.out.find("--max-batch-size (reward.max_batch_size) must be at least 1"), std::string::npos)
      << zero.out;
  const auto no_model = RunPrlm("serve-reward --w-pers 0.5");
  EXPECT_NE(no_model.out.find("--w-pers (reward.w_pers) is 0.5 but no reward model"), std::string::npos)
      << no_model.out;
  const auto bad_enum = RunPrlm("retrieve --server 127.0.0.1:1 --user u --retriever bm52");
  EXPECT_EQ(bad_enum.code, 1);
  EXPECT_NE(bad_enum.out.find("--retriever (retrieval.retriever) must be one of bm25, dense"), std::string::npos)
      << bad_enum.out;
  const auto no_index = RunPrlm("serve-retrieval");
  EXPECT_NE(no_index.out.find("--index (retrieval.index) is required"), std::string::npos) << no_index.out;
}

// A directory with one unreadable split: check-data reports the good splits
// and names the bad one (exit 1); build-index indexes the good ones with a
// warning naming the bad one. LaMP-6's wrapped test file is read as it is.
TEST(Cli, OneBadSplitDoesNotHideTheGoodOnes) {
  prlm::testing::TempDir dir;
  const std::string data = dir / "lamp";
  std::filesystem::create_directories(data);
  prlm::testing::WriteBytes(data + "/dev_questions.json",
                            R"([{"id": "1", "input": "Generate a subject for the following email: hi",
    "profile": [{"id": "10", "text": "lunch", "title": "Lunch"}]}])");
  prlm::testing::WriteBytes(data + "/dev_outputs.json",
                            R"({"task": "LaMP_6", "golds": [{"id": "1", "output": "Hi"}]})");
  prlm::testing::WriteBytes(data + "/test_questions.json", R"({"task": "LaMP_6", "golds": [{"id": "2",
    "input": "Generate a subject for the following email: bye", "profile": [{"id": "20", "text": "x", "title": "X"}]}]})");
  auto check = RunPrlm("check-data --data " + data);
  EXPECT_EQ(check.code, 0) << check.out;
  EXPECT_NE(check.out.find("test_questions.json (loaded"), std::string::npos) << check.out;
  prlm::testing::WriteBytes(data + "/train_questions.json", "{\"id\": \"3\"}\n{\"id\": \"4\"}\n");
  check = RunPrlm("check-data --data " + data);
  EXPECT_EQ(check.code, 1);
  EXPECT_NE(check.out.find("dev_questions.json + "), std::string::npos) << "the good splits are still reported";
  EXPECT_NE(check.out.find("train_questions.json: FAILED"), std::string::npos) << check.out;
  EXPECT_NE(check.out.find("looks like JSON lines"), std::string::npos) << check.out;
  EXPECT_NE(check.out.find("1 of 3 splits"), std::string::npos) << check.out;
  const auto index = RunPrlm("build-index --data " + data + " --out " + (dir / "index"));
  EXPECT_EQ(index.code, 0) << index.out;
  EXPECT_NE(index.out.find("warning: split train: "), std::string::npos) << index.out;
  EXPECT_NE(index.out.find("2 users,"), std::string::npos) << index.out;
}

TEST(Cli, InitModelGenerateAndLogprobsWorkTogether) {
  prlm::testing::TempDir dir;
  const auto init = RunPrlm("init-model --arch qwen2 --preset tiny --out " + (dir / "m") + " num_hidden_layers=2");
  ASSERT_EQ(init.code, 0) << init.out;
  const auto gen = RunPrlm("generate --model " + (dir / "m") +
                           " --prompt 'The city council' --num-samples 3 --max-new-tokens 5 --seed 7");
  ASSERT_EQ(gen.code, 0) << gen.out;
  std::istringstream lines(gen.out);
  int samples = 0;
  for (std::string l; std::getline(lines, l);) {
    if (l.empty() || l[0] != '{') continue;
    const auto j = nlohmann::json::parse(l);
    EXPECT_LE(j["num_tokens"].get<int>(), 5);
    ++samples;
  }
  EXPECT_EQ(samples, 3);
  EXPECT_NE(gen.out.find("tokens/s"), std::string::npos);
  const auto lp = RunPrlm("logprobs --model " + (dir / "m") + " --text 'Researchers announced a plan'");
  ASSERT_EQ(lp.code, 0) << lp.out;
  const auto j = nlohmann::json::parse(lp.out.substr(0, lp.out.find('\n')));
  EXPECT_EQ(j["logprobs"].size() + 1, j["ids"].size());
  for (const auto& v : j["logprobs"]) EXPECT_LT(static_cast<double>(v), 0.0) << v;
  const auto bert = RunPrlm("init-model --arch bert --preset tiny --out " + (dir / "b"));
  EXPECT_EQ(bert.code, 0) << bert.out;
  // Qwen3 and Llama tiny models generate; a generation_config.json's
  // do_sample false makes the default greedy (two samples then agree).
  for (const std::string arch : {"qwen3", "llama"}) {
    const auto made =
        RunPrlm("init-model --arch " + arch + " --preset tiny --out " + (dir / arch) + " num_hidden_layers=2");
    ASSERT_EQ(made.code, 0) << made.out;
    EXPECT_NE(made.out.find("wrote " + arch + " model"), std::string::npos) << made.out;
    EXPECT_NE(prlm::util::ReadFile(dir / (arch + "/config.json")).find("\"model_type\": \"" + arch + "\""),
              std::string::npos);
    prlm::testing::WriteBytes(dir / (arch + "/generation_config.json"), R"({"do_sample": false, "top_k": 20})");
    const auto out = RunPrlm("generate --model " + (dir / arch) +
                             " --prompt 'The city council' --num-samples 2 "
                             "--max-new-tokens 6 --seed 7");
    ASSERT_EQ(out.code, 0) << out.out;
    EXPECT_NE(out.out.find("generation_config.json: --greedy (do_sample false), --top-k 20"), std::string::npos)
        << out.out;
    std::vector<std::string> texts;
    std::istringstream lines(out.out);
    for (std::string l; std::getline(lines, l);)
      if (!l.empty() && l[0] == '{') texts.push_back(nlohmann::json::parse(l)["text"]);
    ASSERT_EQ(texts.size(), 2u) << out.out;
    EXPECT_EQ(texts[0], texts[1]) << arch << ": greedy samples agree";
    // --chat: the model's own template when it has one.
    auto chat = RunPrlm("generate --model " + (dir / arch) + " --prompt hi --max-new-tokens 2 --chat");
    ASSERT_EQ(chat.code, 0) << chat.out;
    EXPECT_NE(chat.out.find("prompts rendered with ChatML (the model has no chat template)"), std::string::npos)
        << chat.out;
    prlm::testing::WriteBytes(dir / (arch + "/chat_template.jinja"),
                              "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content | trim }}<|im_end|>\n"
                              "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}");
    chat = RunPrlm("generate --model " + (dir / arch) + " --prompt hi --max-new-tokens 2 --chat");
    ASSERT_EQ(chat.code, 0) << chat.out;
    EXPECT_NE(chat.out.find("prompts rendered with " + (dir / arch) + "/chat_template.jinja"), std::string::npos)
        << chat.out;
    prlm::testing::WriteBytes(dir / (arch + "/chat_template.jinja"), "\n{% include 'other.jinja' %}");
    chat = RunPrlm("generate --model " + (dir / arch) + " --prompt hi --max-new-tokens 2 --chat");
    EXPECT_NE(chat.code, 0);
    EXPECT_NE(chat.out.find("chat_template.jinja: chat template line 2: the statement 'include' is not supported"),
              std::string::npos)
        << chat.out;
  }
}

TEST(Cli, BadInputGetsAClearMessageNotACrash) {
  prlm::testing::TempDir dir;
  prlm::testing::WriteBytes(dir / "junk.json", "{\"model\": 3}");
  const auto tok = RunPrlm("tokenize --tokenizer " + (dir / "junk.json"));
  EXPECT_EQ(tok.code, 1);
  EXPECT_NE(tok.out.find("junk.json"), std::string::npos) << tok.out;
  const auto nodir = RunPrlm("generate --model " + (dir / "absent") + " --prompt hi");
  EXPECT_EQ(nodir.code, 1);
  EXPECT_NE(nodir.out.find("absent"), std::string::npos) << nodir.out;
  const auto bad_override = RunPrlm("init-model --out " + (dir / "m") + " hidden_sise=3");
  EXPECT_EQ(bad_override.code, 1);
  EXPECT_NE(bad_override.out.find("unknown config key 'hidden_sise'"), std::string::npos) << bad_override.out;
  const auto bad_number = RunPrlm("generate --model x --prompt hi --top-k many");
  EXPECT_NE(bad_number.out.find("--top-k expects an integer, got 'many'"), std::string::npos) << bad_number.out;
}

}  // namespace

namespace prlm {
namespace {

TEST(Report, PlotsAndSummaryFromMetrics) {
  testing::TempDir dir;
  const std::string run = dir / "run";
  std::filesystem::create_directories(run);
  std::string lines;
  for (int step = 1; step <= 5; ++step)
    lines += "{\"training/global_step\":" + std::to_string(step) +
             ",\"critic/score/mean\":" + std::to_string(0.1 * step) +
             ",\"reward/accuracy/mean\":0.5,\"reward/rouge1/mean\":0.4," +
             "\"actor/kl_loss\":0.01,\"response_length/mean\":20,\"timing_s/gen\":1.0,\"timing_s/update_actor\":2.0," +
             "\"timing_s/step\":4.0,\"perf/throughput\":100}\n";
  testing::WriteBytes(run + "/metrics.jsonl", lines);
  testing::WriteBytes(run + "/status.json", "{\"state\":\"finished\",\"step\":5,\"total_steps\":5}\n");
  const auto r = RunPrlm("report " + run);
  ASSERT_EQ(r.code, 0) << r.out;
  // Every chart is well-formed SVG by an independent parser (Python's XML),
  // with raw and smoothed lines, tick labels, axis labels and a legend.
  for (const char* chart : {"reward", "reward_parts", "kl", "response_length", "phase_time"}) {
    const auto check = testing::Shell(std::string("python3 ") + PRLM_SOURCE_DIR + "/tests/tools/check_svg.py " + run +
                                      "/report/" + chart + ".svg");
    ASSERT_EQ(check.code, 0) << chart << ": " << check.out;
    EXPECT_EQ(check.out.substr(0, 8), "800x450 ") << chart;
  }
  const auto reward = testing::Shell(std::string("python3 ") + PRLM_SOURCE_DIR + "/tests/tools/check_svg.py " + run +
                                     "/report/reward.svg");
  // Two series (score, accuracy), each raw and smoothed: 4 paths in 2 colours.
  EXPECT_EQ(reward.out.substr(0, reward.out.find('\n')), "800x450 4 2") << reward.out;
  for (const char* text : {"\nreward per step (mean over the step's samples)\n", "\nstep\n", "\nreward\n", "\nscore\n",
                           "\naccuracy\n", "\n0.50\n"})
    EXPECT_NE(reward.out.find(text), std::string::npos) << text << " in " << reward.out;
  const std::string md = util::ReadFile(run + "/report/report.md");
  EXPECT_NE(md.find("state: finished at step 5 of 5"), std::string::npos) << md;
  EXPECT_NE(md.find("| critic/score/mean | 0.1 | 0.5 | 0.1 | 0.5 | 0.3 |"), std::string::npos) << md;
  // Phase shares over steps 2-5: generation 1 of 4 s, update 2, other 1.
  EXPECT_NE(md.find("| generation | 1 | 25.0% |"), std::string::npos) << md;
  EXPECT_NE(md.find("| update | 2 | 50.0% |"), std::string::npos) << md;
  EXPECT_NE(md.find("![phase_time.svg](phase_time.svg)"), std::string::npos) << md;
  // A pipeline's directory: each run under it, its charts prefixed by the
  // run's name, and the eval table prlm eval wrote there, first.
  std::filesystem::create_directories(dir / "pipeline");
  std::filesystem::rename(run, dir / "pipeline/grpo");
  testing::WriteBytes(dir / "pipeline/eval.json",
                      "[{\"name\":\"RAG (sft)\",\"model\":\"m\",\"split\":\"test\",\"retriever\":\"bm25\",\"k\":2,"
                      "\"n\":128,\"rouge1\":0.4088,\"rougeL\":0.4081}]");
  testing::WriteBytes(dir / "pipeline/other.json", "{\"not\": \"an eval table\"}");
  const auto all = RunPrlm("report " + dir / "pipeline");
  ASSERT_EQ(all.code, 0) << all.out;
  const std::string all_md = util::ReadFile(dir / "pipeline/report/report.md");
  EXPECT_NE(all_md.find("## Evaluation: eval.json"), std::string::npos) << all_md;
  EXPECT_NE(all_md.find("| RAG (sft) | bm25 | 2 | 128 | 0.4088 |"), std::string::npos) << all_md;
  EXPECT_EQ(all_md.find("other.json"), std::string::npos) << all_md;
  EXPECT_NE(all_md.find("## Run: grpo"), std::string::npos) << all_md;
  EXPECT_NE(all_md.find("![grpo-reward.svg](grpo-reward.svg)"), std::string::npos) << all_md;
  EXPECT_TRUE(std::filesystem::exists(dir / "pipeline/report/grpo-reward.svg"));
  std::filesystem::rename(dir / "pipeline/grpo", run);
  const auto rough = RunPrlm("report " + run + " --smoothing 1");
  EXPECT_NE(rough.code, 0);
  EXPECT_NE(rough.out.find("--smoothing must be in [0, 1), got 1"), std::string::npos) << rough.out;
  // A malformed line is named with its file and line.
  testing::WriteBytes(run + "/metrics.jsonl", lines.substr(0, lines.find('\n') + 1) + "{\"training/glob\n");
  const auto bad = RunPrlm("report " + run);
  EXPECT_NE(bad.code, 0);
  EXPECT_NE(bad.out.find("metrics.jsonl:2: not a JSON object"), std::string::npos) << bad.out;
  EXPECT_NE(RunPrlm("report " + dir / "nowhere").out.find("no metrics.jsonl here or in its subdirectories"),
            std::string::npos);
}

}  // namespace
}  // namespace prlm
