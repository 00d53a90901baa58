// The prlm subcommands. Each takes the arguments after its name and returns
// the process exit code; user errors throw util::Error (main prints them).
// The bench commands are in bench/bench.h.
#pragma once

namespace prlm::cli {

int RunTokenize(int argc, char** argv);
int RunChatTemplate(int argc, char** argv);
int RunTrainTokenizer(int argc, char** argv);
int RunInitModel(int argc, char** argv);
int RunGenerate(int argc, char** argv);
int RunLogprobs(int argc, char** argv);
int RunDemo(int argc, char** argv);
int RunCheckData(int argc, char** argv);
int RunMakeSynthetic(int argc, char** argv);
int RunBuildIndex(int argc, char** argv);
int RunServeRetrieval(int argc, char** argv);
int RunMakeSecret(int argc, char** argv);
int RunMakeReasoning(int argc, char** argv);
int RunMakeCert(int argc, char** argv);
int RunRetrieve(int argc, char** argv);
int RunRefreshIndex(int argc, char** argv);
int RunMakeRmPairs(int argc, char** argv);
int RunTrainRm(int argc, char** argv);
int RunScoreRm(int argc, char** argv);
int RunTrainLore(int argc, char** argv);
int RunAdaptUser(int argc, char** argv);
int RunEvalLore(int argc, char** argv);
int RunJudgeUtility(int argc, char** argv);
int RunServeReward(int argc, char** argv);
int RunScore(int argc, char** argv);
int RunTrain(int argc, char** argv);
int RunPlan(int argc, char** argv);
int RunRollout(int argc, char** argv);
int RunEval(int argc, char** argv);
int RunCollectFeedback(int argc, char** argv);
int RunTrainRetriever(int argc, char** argv);
int RunCollectSelection(int argc, char** argv);
int RunTrainSelector(int argc, char** argv);
int RunReport(int argc, char** argv);

}  // namespace prlm::cli
