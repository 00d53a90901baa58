// prlm: one executable, one subcommand per job (see `prlm --help`).
#include <malloc.h>
#include <sys/stat.h>

#include <cstdio>
#include <cstring>
#include <exception>

#include "bench/bench.h"
#include "cli/commands.h"
#include "common/util/check.h"

namespace prlm::cli {
namespace {

struct Command {
  const char* name;
  int (*run)(int, char**);
  const char* summary;
};

const Command kCommands[] = {
    {"demo", RunDemo, "make a small tokenizer and model, generate from it, print tokens/s"},
    {"tokenize", RunTokenize, "print the ids of each input line as a JSON array"},
    {"chat-template", RunChatTemplate, "render a conversation with a model's own chat template"},
    {"train-tokenizer", RunTrainTokenizer, "train a byte-level BPE tokenizer (Qwen2 pre-tokenizer) on text files"},
    {"init-model", RunInitModel,
     "write a randomly initialised decoder (Qwen2, Qwen3, Llama) or BERT in Hugging Face layout"},
    {"generate", RunGenerate, "sample completions from a decoder (Qwen2, Qwen3, Llama)"},
    {"logprobs", RunLogprobs, "print per-token log-probs of given texts"},
    {"bench", bench::RunBench, "measure tokenizer and generation speed"},
    {"check-data", RunCheckData, "validate a LaMP / LongLaMP data set, print statistics"},
    {"make-synthetic", RunMakeSynthetic, "write synthetic LaMP-format users with learnable personal styles"},
    {"make-reasoning", RunMakeReasoning,
     "write reasoning paths (profile -> style -> answer) for the sft objective's targets"},
    {"build-index", RunBuildIndex, "build a sharded retrieval index (BM25, FAISS)"},
    {"make-secret", RunMakeSecret, "write a secret file for the standalone services and their clients"},
    {"make-cert", RunMakeCert, "write a self-signed TLS certificate and key for the standalone services"},
    {"serve-retrieval", RunServeRetrieval, "serve one retrieval shard over TCP"},
    {"retrieve", RunRetrieve, "ask the retrieval tier for a user's top-k items"},
    {"refresh-index", RunRefreshIndex,
     "re-embed every shard's profiles with a new encoder and serve them as the next index version"},
    {"make-rm-pairs", RunMakeRmPairs, "reward-model pairs: the policy with vs without the profile"},
    {"train-rm", RunTrainRm, "train the contrastive personalization reward model"},
    {"score-rm", RunScoreRm, "score (query, answer) pairs with a reward model"},
    {"train-lore", RunTrainLore, "fit LoRe: a shared reward basis and per-user mixture weights"},
    {"adapt-user", RunAdaptUser, "fit one user's LoRe weights from a few preference pairs"},
    {"eval-lore", RunEvalLore, "LoRe vs shared and per-user reward models on preference pairs"},
    {"judge-utility", RunJudgeUtility, "answers judged under synthetic users' true utilities (win rates)"},
    {"serve-reward", RunServeReward, "serve batched reward scoring over TCP"},
    {"score", RunScore, "score completions (JSON lines) with a reward server"},
    {"eval", RunEval, "greedy answers on held-out users: ROUGE, BLEU, format, reward per retriever and k"},
    {"collect-feedback", RunCollectFeedback,
     "ROPG's feedback: the policy's utility of each first-stage candidate (under mpirun)"},
    {"train-retriever", RunTrainRetriever,
     "ROPG: train the dense retriever from collect-feedback's utilities (kd or rl; under mpirun)"},
    {"collect-selection", RunCollectSelection,
     "RSPG's data: the policy's utility with each candidate retriever (under mpirun)"},
    {"train-selector", RunTrainSelector,
     "RSPG: train the per-input retriever selector (pre or post generation; under mpirun)"},
    {"train", RunTrain, "one rank of a distributed GRPO / sft training job (under mpirun or srun)"},
    {"plan", RunPlan, "whether a training job fits: each rank's memory, where it runs, a refusal if it cannot"},
    {"rollout", RunRollout, "a rollout worker that joins a running job with rollout.elastic=true (--join)"},
    {"report", RunReport, "SVG charts and a markdown summary of a training run (or of every run under a directory)"},
};

void PrintHelp() {
  std::printf(
      "usage: prlm <command> [options]\n\nprlm trains personalized LLMs with PrLM "
      "(GRPO + contrastive personalization reward).\n\ncommands:\n");
  for (const auto& c : kCommands) std::printf("  %-18s %s\n", c.name, c.summary);
  std::printf("\n`prlm <command> --help` lists the options of a command.\n");
}

}  // namespace
}  // namespace prlm::cli

int main(int argc, char** argv) {
  // Keep torch's large CPU tensors on one heap instead of fresh mmap()s:
  // glibc otherwise maps and unmaps (and the kernel zero-fills) every big
  // temporary, which cost a 27M-parameter BERT forward a third of its time
  // (17.4 s -> 11.4 s wall, 12.2 s -> 3.5 s system time for 64 pairs); and a
  // model run on a worker thread would get a per-thread arena, whose 64 MB
  // heaps are mapped and unmapped the same way (the reward server's batched
  // forward: 249 -> 178 ms per sequence).
  mallopt(M_MMAP_MAX, 0);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
  mallopt(M_ARENA_MAX, 1);
  // What prlm writes (run directories, checkpoints, logs, indexes of users'
  // profiles, data) is readable by the user only: directories 0700, files 0600.
  umask(077);
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
    prlm::cli::PrintHelp();
    return argc < 2 ? 2 : 0;
  }
  for (const auto& c : prlm::cli::kCommands) {
    if (std::strcmp(argv[1], c.name) != 0) continue;
    try {
      return c.run(argc - 2, argv + 2);
    } catch (const prlm::util::Error& e) {
      std::fprintf(stderr, "prlm %s: error: %s\n", c.name, e.what());
      return 1;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "prlm %s: error: %s\n", c.name, e.what());
      return 1;
    }
  }
  std::fprintf(stderr, "prlm: unknown command '%s'\n\n", argv[1]);
  prlm::cli::PrintHelp();
  return 2;
}
