// Where a run's per-step figures go besides metrics.jsonl: TensorBoard event
// files and the Prometheus /metrics endpoint, both fed from the same typed
// step metrics (common/monitor/step_metrics.h names them).
//
//   RUN/tensorboard/events.out.tfevents.*   one scalar per numeric key, step = global step
//   http://HOST:PORT/metrics                 the latest step as gauges, plus counters
//   RUN/prometheus_targets.json              the endpoint, as Prometheus file_sd
//
// Prometheus names: prlm_step, prlm_total_steps; prlm_phase_seconds{phase}
// from timing_s/*; prlm_reward_component_mean{component} from
// reward/<c>/mean; prlm_service_queue_depth{service}; every other numeric key
// as prlm_<key with '/' -> '_'> (prlm_actor_pg_loss, prlm_critic_score_mean,
// prlm_perf_throughput = tokens/s, ...). Counters since this launch started:
// prlm_steps_total, prlm_tokens_total, prlm_skipped_questions_total,
// prlm_service_retries_total{service}, prlm_checkpoints_total.
//
// Thread-safety: the coordinator's thread only (the endpoint serves on its own).
#pragma once

#include <map>
#include <memory>
#include <string>

#include "common/config/train_config.h"
#include "common/monitor/metrics_endpoint.h"
#include "common/monitor/step_metrics.h"
#include "common/monitor/tfevents_writer.h"

namespace prlm::coordinator {

class RunMonitor {
 public:
  // Opens what the config's logging section asks for. Throws util::Error
  // when the event file cannot be created or the port cannot be bound.
  RunMonitor(const config::TrainConfig& config, int64_t total_steps);

  // After every step.
  void RecordStep(const monitor::StepMetrics& metrics);
  void RecordCheckpoint() { ++checkpoints_; }

  // "host:port" of /metrics, or "" when off.
  std::string endpoint_address() const;

 private:
  // The exposition text of the last step (null before the first).
  std::string Render(const monitor::StepMetrics* last) const;

  std::unique_ptr<monitor::TfEventsWriter> tensorboard_;
  std::unique_ptr<monitor::MetricsEndpoint> endpoint_;
  std::string host_;
  int64_t total_steps_;
  // Counters since this launch started.
  int64_t steps_ = 0, checkpoints_ = 0;
  double tokens_ = 0, skipped_ = 0;
  std::map<std::string, double> retries_;  // service -> retried calls
};

}  // namespace prlm::coordinator
