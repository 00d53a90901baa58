// `prlm rollout --join HOST:PORT --secret-file F`: a rollout worker that
// joins a running job's elastic tier (rollout.elastic=true) from outside its
// MPI world: another process, host, or Slurm job.
//
//   1. the job secret from the file (the job must use it: net.secret_file);
//   2. a weight server for the relay chain;
//   3. join the gateway: the job's config and its services' addresses;
//   4. the policy (model.policy must be readable here: a shared file system)
//      and the service clients;
//   5. work until the gateway says stop (or, after losing it for
//      trainer.rank_timeout_s, exit naming it).
//
// Thread-safety: one per process.
#pragma once

#include <string>
#include <vector>

namespace prlm::rollout_workers {

struct JoinOptions {
  std::string gateway;                 // host:port (the job logs it and writes RUN/gateway)
  std::string secret_file;             // the job's net.secret_file
  bool tls = true;                     // false for a job run with net.tls=false
  std::string name;                    // how the job names this worker; "" = host:pid
  std::string bind_host;               // the weight server's address; "" = this host name's
  std::vector<std::string> overrides;  // KEY=VALUE for this worker only (model.device, model.cpu_threads, ...)
};

// Returns 0 when the job stops the worker; throws util::Error otherwise.
int RunJoinedWorker(const JoinOptions& options);

}  // namespace prlm::rollout_workers
