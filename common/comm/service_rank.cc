#include "common/comm/service_rank.h"

#include <spdlog/spdlog.h>

#include <thread>

#include "common/comm/job_messages.h"
#include "common/comm/mpi_job.h"

namespace prlm::comm {

void ServeUntilStopped(const TrainJob& job, net::RpcServer& server) {
  std::thread serving([&] { server.Run(); });
  proto::JobMessage m;
  while (true) {
    if (!ReceiveMessage(&m, 0, job.world, kForever)) AbortJob(job.Who(), "the coordinator went silent");
    if (m.has_stop()) break;
    spdlog::warn("ignoring '{}' from the coordinator (a service rank only stops)", BodyName(m));
  }
  server.Stop();
  serving.join();
  std::string counters;
  for (const auto& [k, v] : server.Counters()) counters += " " + k + "=" + std::to_string(v);
  spdlog::info("stopped;{}", counters);
}

}  // namespace prlm::comm
