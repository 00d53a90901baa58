// ROPG's commands end to end under mpirun, on a tiny random policy and the
// BERT fixture: collect-feedback gives byte-identical files with 1 and 2
// ranks (sampled answers, seeded per question and candidate, so they differ
// and the check is not vacuous), train-retriever with 2 data-parallel ranks ends on the weights
// 1 rank reaches (within float summation order), its output directory
// serves `eval --retriever dense --encoder`, and `eval --retriever oracle
// --feedback` reads the feedback; bad input is refused by name. RSPG:
// collect-selection gives identical files with 1 and 2 ranks, train-selector
// trains both variants (one of them on 2 ranks), and eval's rspg-pre and
// rspg-post rows say which retriever each question got.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <set>

#include "common/model/safetensors.h"
#include "common/model/weights_io.h"
#include "common/util/file.h"
#include "tests/job_test_util.h"
#include "tests/test_util.h"

namespace prlm {
namespace {

namespace fs = std::filesystem;
using testing::Shell;

std::string Prlm() { return PRLM_BINARY; }
std::string Mpirun(int np) {
  return "timeout 600 mpirun --allow-run-as-root --oversubscribe -np " + std::to_string(np) + " " + Prlm();
}

// Starts `prlm ARGS` in the background (log NAME.log, pid NAME.pid) and
// returns the port it listens on, "" when it did not start.
std::string StartServerIn(const std::string& dir, const std::string& args, const std::string& name) {
  const std::string log = dir + "/" + name + ".log";
  Shell("(" + Prlm() + args + " > " + log + " 2>&1 & echo $! > " + dir + "/" + name + ".pid)");
  for (int i = 0; i < 300; ++i) {
    const std::string text = fs::exists(log) ? util::ReadFile(log) : "";
    const size_t at = text.find("listening on 127.0.0.1:");
    if (at != std::string::npos) return text.substr(at + 23, text.find_first_not_of("0123456789", at + 23) - at - 23);
    Shell("sleep 0.1");
  }
  return "";
}

class RopgJob : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    const std::string d = dir_->str();
    const auto prep =
        Shell(Prlm() + " make-synthetic --users 20 --seed 3 --questions-per-user 2 --topic-style --out " + d +
              "/data --corpus " + d + "/corpus.txt && " + Prlm() + " train-tokenizer --vocab-size 1024 --out " + d +
              "/tok " + d + "/corpus.txt && " + Prlm() + " init-model --tokenizer " + d + "/tok/tokenizer.json --out " +
              d + "/policy num_hidden_layers=1 hidden_size=64 intermediate_size=128");
    ASSERT_EQ(prep.code, 0) << prep.out;
  }
  static void TearDownTestSuite() { delete dir_; }
  static std::string D(const std::string& name) { return *dir_ / name; }
  static std::string Collect(const std::string& out) {
    return " collect-feedback --model " + D("policy") + " --data " + D("data") +
           " --split train --limit 6 --k 5 --max-new-tokens 12 --temperature 1 --threads 1 --out " + out;
  }
  static std::string StartServer(const std::string& args, const std::string& name) {
    return StartServerIn(dir_->str(), args, name);
  }
  static void StopServer(const std::string& name) { Shell("kill $(cat " + D(name + ".pid") + ")"); }
  static testing::TempDir* dir_;
};
testing::TempDir* RopgJob::dir_ = nullptr;

std::vector<nlohmann::json> Lines(const std::string& path) {
  std::vector<nlohmann::json> out;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) out.push_back(nlohmann::json::parse(line));
  return out;
}

TEST_F(RopgJob, FeedbackIsTheSameWithOneOrTwoRanks) {
  const auto one = Shell(Prlm() + Collect(D("fb1.jsonl")));
  ASSERT_EQ(one.code, 0) << one.out;
  const auto two = Shell(Mpirun(2) + Collect(D("fb2.jsonl")));
  ASSERT_EQ(two.code, 0) << two.out;
  EXPECT_NE(two.out.find("from 2 ranks"), std::string::npos) << two.out;
  EXPECT_EQ(util::ReadFile(D("fb1.jsonl")), util::ReadFile(D("fb2.jsonl")));
  const auto records = Lines(D("fb1.jsonl"));
  ASSERT_EQ(records.size(), 6u);
  std::set<std::string> answers;
  for (const auto& r : records) {
    EXPECT_EQ(r["candidates"].size(), 5u) << r.dump();
    EXPECT_EQ(r["first_stage"], "bm25");
    for (const auto& c : r["candidates"]) answers.insert(c["completion"].get<std::string>());
  }
  EXPECT_GT(answers.size(), 3u) << "the completions should depend on the candidate shown";
  // A scorer output that does not exist is named, with the ones that do.
  const auto bad = Shell(Prlm() + Collect(D("bad.jsonl")) + " --utility bleu");
  EXPECT_NE(bad.code, 0);
  EXPECT_NE(bad.out.find("the scorer has no output 'bleu' (it has: accuracy, rouge1"), std::string::npos) << bad.out;
  EXPECT_FALSE(fs::exists(D("bad.jsonl")));
}

TEST_F(RopgJob, TwoDataParallelRanksTrainTheRetrieverOneRankTrains) {
  if (!fs::exists(D("fb1.jsonl"))) ASSERT_EQ(Shell(Prlm() + Collect(D("fb1.jsonl"))).code, 0);
  const std::string fixture = std::string(PRLM_SOURCE_DIR) + "/tests/fixtures/bert-tiny";
  const std::string train = " train-retriever --feedback " + D("fb1.jsonl") + " --init " + fixture +
                            " --batch-size 4 --epochs 2 --heldout-fraction 0 --lr 1e-3 --threads 1 --out ";
  for (const char* mode : {"kd", "rl"}) {
    const auto one = Shell(Prlm() + train + D(std::string("r1") + mode) + " --mode " + mode);
    ASSERT_EQ(one.code, 0) << one.out;
    const auto two = Shell(Mpirun(2) + train + D(std::string("r2") + mode) + " --mode " + mode);
    ASSERT_EQ(two.code, 0) << two.out;
    const model::SafetensorsFile a(D(std::string("r1") + mode) + "/model.safetensors");
    const model::SafetensorsFile b(D(std::string("r2") + mode) + "/model.safetensors");
    const model::SafetensorsFile init(fixture + "/model.safetensors");
    double moved = 0;
    for (const auto& info : a.tensors()) {
      const auto ta = model::ReadTensor(a, info), tb = model::ReadTensor(b, b.Info(info.name));
      EXPECT_LT((ta - tb).abs().max().item<double>(), 1e-5) << mode << " " << info.name;
      for (const std::string& name : {info.name, "bert." + info.name})
        if (init.Has(name))
          moved += (ta - model::ReadTensor(init, init.Info(name)).to(ta.dtype())).abs().max().item<double>();
    }
    EXPECT_GT(moved, 0) << mode << ": training changed nothing";
    EXPECT_EQ(Lines(D(std::string("r2") + mode) + "/metrics.jsonl").size(), 4u) << mode;  // 6 questions / 4, 2 epochs
  }
  // The trained directory is a dense encoder for eval, and the oracle reads the feedback.
  const auto eval = Shell(Prlm() + " eval --model " + D("policy") + " --data " + D("data") +
                          " --split train --limit 6 --k 1 --max-new-tokens 8 --retriever dense,oracle --encoder " +
                          D("r1kd") + " --feedback " + D("fb1.jsonl"));
  ASSERT_EQ(eval.code, 0) << eval.out;
  EXPECT_NE(eval.out.find("| dense | 1 | 6 |"), std::string::npos) << eval.out;
  EXPECT_NE(eval.out.find("| oracle | 1 | 6 |"), std::string::npos) << eval.out;
  const auto no_feedback = Shell(Prlm() + " eval --model " + D("policy") + " --data " + D("data") +
                                 " --split train --limit 2 --retriever oracle");
  EXPECT_NE(no_feedback.code, 0);
  EXPECT_NE(no_feedback.out.find("--retriever oracle needs --feedback FILE"), std::string::npos) << no_feedback.out;
}

TEST_F(RopgJob, RetrieverSelectionFromCollectionToEval) {
  const std::string fixture = std::string(PRLM_SOURCE_DIR) + "/tests/fixtures/bert-tiny";
  const std::string candidates = " --candidates none,recency,bm25,dense=" + fixture;
  const std::string collect = " collect-selection --model " + D("policy") + " --data " + D("data") +
                              " --split train --limit 6 --max-new-tokens 12 --temperature 1 --threads 1" + candidates +
                              " --out ";
  const auto one = Shell(Prlm() + collect + D("sel1.jsonl"));
  ASSERT_EQ(one.code, 0) << one.out;
  const auto two = Shell(Mpirun(2) + collect + D("sel2.jsonl"));
  ASSERT_EQ(two.code, 0) << two.out;
  EXPECT_NE(two.out.find("6 questions, 4 retrievers each (utility rouge1) from 2 ranks"), std::string::npos) << two.out;
  EXPECT_EQ(util::ReadFile(D("sel1.jsonl")), util::ReadFile(D("sel2.jsonl")));
  std::set<std::string> completions;
  for (const auto& r : Lines(D("sel1.jsonl"))) {
    ASSERT_EQ(r["candidates"].size(), 4u) << r.dump();
    EXPECT_EQ(r["candidates"][0]["id"], "none");
    EXPECT_EQ(r["candidates"][0]["text"], "");  // zero-shot: no items
    EXPECT_EQ(r["candidates"][3]["id"], "dense");
    EXPECT_NE(r["candidates"][2]["text"], "");
    for (const auto& c : r["candidates"]) completions.insert(c["completion"].get<std::string>());
  }
  EXPECT_GT(completions.size(), 6u) << "each retriever's answer is its own";

  // Both variants train (pre on two data-parallel ranks) into selector directories.
  const std::string train = " train-selector --feedback " + D("sel1.jsonl") + " --init " + fixture +
                            " --batch-size 4 --epochs 2 --heldout-fraction 0 --max-length 64 --threads 1";
  const auto pre = Shell(Mpirun(2) + train + " --variant pre --out " + D("sel_pre"));
  ASSERT_EQ(pre.code, 0) << pre.out;
  const auto post = Shell(Prlm() + train + " --variant post --out " + D("sel_post"));
  ASSERT_EQ(post.code, 0) << post.out;
  EXPECT_EQ(nlohmann::json::parse(util::ReadFile(D("sel_post") + "/selector.json"))["candidates"],
            nlohmann::json({"none", "recency", "bm25", "dense"}));
  EXPECT_EQ(Lines(D("sel_pre") + "/metrics.jsonl").size(), 4u);  // 6 questions / 4, 2 epochs

  // eval: one row per variant, each saying how often it picked each retriever.
  const std::string eval = " eval --model " + D("policy") + " --data " + D("data") +
                           " --split train --limit 6 --k 1 --max-new-tokens 8 --threads 1";
  const auto rows = Shell(Prlm() + eval + " --retriever rspg-pre,rspg-post --selector " + D("sel_pre") + "," +
                          D("sel_post") + candidates + " --out " + D("rspg.json"));
  ASSERT_EQ(rows.code, 0) << rows.out;
  const auto table = nlohmann::json::parse(util::ReadFile(D("rspg.json")));
  ASSERT_EQ(table.size(), 2u);
  for (const auto& row : table) {
    int picked = 0;
    for (const auto& [name, count] : row["selected"].items()) picked += count.get<int>();
    EXPECT_EQ(picked, 6) << row.dump();
  }
  EXPECT_EQ(table[1]["retriever"], "rspg-post");

  // Bad input, named.
  const auto no_selector = Shell(Prlm() + eval + " --retriever rspg-pre" + candidates);
  EXPECT_NE(no_selector.out.find("need --selector DIR and --candidates SPEC"), std::string::npos) << no_selector.out;
  const auto wrong_variant = Shell(Prlm() + eval + " --retriever rspg-post --selector " + D("sel_pre") + candidates);
  EXPECT_NE(wrong_variant.out.find("--retriever rspg-post: --selector has no selector of that variant"),
            std::string::npos)
      << wrong_variant.out;
  const auto missing =
      Shell(Prlm() + eval + " --retriever rspg-pre --selector " + D("sel_pre") + " --candidates none,recency,bm25");
  EXPECT_NE(missing.out.find("was trained to choose dense, which --candidates does not name"), std::string::npos)
      << missing.out;
  if (!fs::exists(D("fb1.jsonl"))) ASSERT_EQ(Shell(Prlm() + Collect(D("fb1.jsonl"))).code, 0);
  const auto items =
      Shell(Prlm() + " train-selector --feedback " + D("fb1.jsonl") + " --init " + fixture + " --out " + D("sel_bad"));
  EXPECT_NE(items.code, 0);
  EXPECT_NE(items.out.find("has other candidates than the first record's"), std::string::npos) << items.out;
}

// train-retriever --refresh-server: a running shard server re-embeds with the
// weights being trained every N steps and after the last; each step that
// refreshed says which version the shard serves.
TEST_F(RopgJob, TrainingRefreshesARunningShardServer) {
  if (!fs::exists(D("fb1.jsonl"))) ASSERT_EQ(Shell(Prlm() + Collect(D("fb1.jsonl"))).code, 0);
  const std::string fixture = std::string(PRLM_SOURCE_DIR) + "/tests/fixtures/bert-tiny";
  const auto index =
      Shell(Prlm() + " build-index --data " + D("data") + " --retriever bm25,dense --encoder " + fixture +
            " --shards 1 --out " + D("index") + " && " + Prlm() + " make-secret --out " + D("secret"));
  ASSERT_EQ(index.code, 0) << index.out;
  const std::string port =
      StartServer(" serve-retrieval --index " + D("index") + " --shard 0 --secret-file " + D("secret"), "shard");
  ASSERT_FALSE(port.empty()) << util::ReadFile(D("shard.log"));
  const auto trained =
      Shell(Prlm() + " train-retriever --feedback " + D("fb1.jsonl") + " --init " + fixture +
            " --batch-size 2 --epochs 1 --heldout-fraction 0 --threads 1 --refresh-every 2" +
            " --refresh-server 127.0.0.1:" + port + " --secret-file " + D("secret") + " --out " + D("refreshed"));
  StopServer("shard");
  ASSERT_EQ(trained.code, 0) << trained.out;
  std::vector<std::string> refreshes;
  for (const auto& m : Lines(D("refreshed") + "/metrics.jsonl"))
    if (m.contains("refresh")) refreshes.push_back(m["refresh"].get<std::string>());
  ASSERT_EQ(refreshes.size(), 2u);  // 6 questions / 2 = 3 steps: after step 2 and after the last
  EXPECT_NE(refreshes[0].find("version 2 in"), std::string::npos) << refreshes[0];
  EXPECT_NE(refreshes[1].find("version 3 in"), std::string::npos) << refreshes[1];
  EXPECT_EQ(std::distance(fs::directory_iterator(D("refreshed") + "/serving"), fs::directory_iterator()), 1);
}

// collect-feedback --reward-server: the reward tier scores over TCP, and the
// file is the one in-process scoring writes.
TEST_F(RopgJob, FeedbackScoredByARewardServerIsTheSame) {
  if (!fs::exists(D("fb1.jsonl"))) ASSERT_EQ(Shell(Prlm() + Collect(D("fb1.jsonl"))).code, 0);
  if (!fs::exists(D("secret"))) ASSERT_EQ(Shell(Prlm() + " make-secret --out " + D("secret")).code, 0);
  const std::string port = StartServer(" serve-reward --w-pers 0 --secret-file " + D("secret"), "reward");
  ASSERT_FALSE(port.empty()) << util::ReadFile(D("reward.log"));
  const auto remote = Shell(Mpirun(2) + Collect(D("fb_remote.jsonl")) + " --reward-server 127.0.0.1:" + port +
                            " --secret-file " + D("secret"));
  ASSERT_EQ(Shell(Prlm() + " make-secret --out " + D("other_secret")).code, 0);
  const auto no_secret = Shell(Prlm() + Collect(D("fb_nosecret.jsonl")) + " --reward-server 127.0.0.1:" + port +
                               " --secret-file " + D("other_secret"));
  StopServer("reward");
  ASSERT_EQ(remote.code, 0) << remote.out;
  EXPECT_EQ(util::ReadFile(D("fb1.jsonl")), util::ReadFile(D("fb_remote.jsonl")));
  EXPECT_NE(no_secret.code, 0) << "a peer without the job's secret is not scored";
  EXPECT_NE(no_secret.out.find("did not prove the job secret"), std::string::npos) << no_secret.out;
  EXPECT_FALSE(fs::exists(D("fb_nosecret.jsonl")));
}

}  // namespace
}  // namespace prlm
