// `prlm bench ...`: each speed measurement beside its baseline, run side by
// side in one process (bench/README.md lists them and their figures). Each
// takes the arguments after its name and returns the process exit code.
#pragma once

namespace prlm::bench {

int RunBench(int argc, char** argv);           // prlm bench SUBCOMMAND: dispatches to the others
int BenchRetrieval(int argc, char** argv);     // prlm bench retrieval
int BenchReward(int argc, char** argv);        // prlm bench reward
int BenchLore(int argc, char** argv);          // prlm bench lore
int BenchFlops(int argc, char** argv);         // prlm bench flops
int BenchGenerate(int argc, char** argv);      // prlm bench generate
int BenchSharedPrompt(int argc, char** argv);  // prlm bench shared-prompt
int BenchWeightSync(int argc, char** argv);    // prlm bench weight-sync (under mpirun)
int BenchRelay(int argc, char** argv);         // prlm bench relay
int BenchScale(int argc, char** argv);         // prlm bench scale (runs mpirun)

}  // namespace prlm::bench
