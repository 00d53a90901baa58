#include "coordinator/run_monitor.h"

#include <unistd.h>

#include "common/monitor/prometheus_text.h"
#include "common/util/file.h"
#include "common/util/logging.h"

namespace prlm::coordinator {

using monitor::MetricFamily;

RunMonitor::RunMonitor(const config::TrainConfig& config, int64_t total_steps) : total_steps_(total_steps) {
  const std::string& run = config.trainer.output_dir;
  if (config.logging.tensorboard) {
    tensorboard_ = std::make_unique<monitor::TfEventsWriter>(run + "/tensorboard");
    spdlog::info("TensorBoard events: {}", tensorboard_->path());
  }
  if (config.logging.prometheus_port >= 0) {
    endpoint_ = std::make_unique<monitor::MetricsEndpoint>(config.logging.prometheus_host,
                                                           static_cast<uint16_t>(config.logging.prometheus_port));
    // Scrapers on other nodes need this node's name, not the wildcard address.
    char name[256] = "localhost";
    gethostname(name, sizeof name - 1);
    host_ = config.logging.prometheus_host == "0.0.0.0" ? name : config.logging.prometheus_host;
    nlohmann::json targets =
        nlohmann::json::array({{{"targets", {endpoint_address()}}, {"labels", {{"job", "prlm"}, {"run", run}}}}});
    util::WriteFileAtomic(run + "/prometheus_targets.json", targets.dump(2) + "\n");
    spdlog::info("Prometheus metrics: http://{}/metrics", endpoint_address());
    endpoint_->Publish(Render(nullptr));
  }
}

std::string RunMonitor::endpoint_address() const {
  return endpoint_ ? host_ + ":" + std::to_string(endpoint_->port()) : "";
}

void RunMonitor::RecordStep(const monitor::StepMetrics& m) {
  ++steps_;
  tokens_ += static_cast<double>(m.total_num_tokens);
  skipped_ += static_cast<double>(m.skipped_questions);
  retries_["retrieval"] += static_cast<double>(m.retrieval_retries);
  retries_["reward"] += static_cast<double>(m.reward_retries);
  if (tensorboard_) {
    std::vector<std::pair<std::string, double>> scalars;
    const auto line = monitor::ToJson(m);  // named: items() only refers to it
    for (const auto& [key, value] : line.items())
      if (value.is_number() && key != monitor::keys::kGlobalStep) scalars.emplace_back(key, value.get<double>());
    tensorboard_->WriteScalars(m.global_step, scalars);
  }
  if (endpoint_) endpoint_->Publish(Render(&m));
}

std::string RunMonitor::Render(const monitor::StepMetrics* last) const {
  std::vector<MetricFamily> f;
  f.push_back({"prlm_step",
               "Training steps completed (the global step).",
               "gauge",
               {{{}, last ? static_cast<double>(last->global_step) : 0.0}}});
  f.push_back(
      {"prlm_total_steps", "Training steps the run will take.", "gauge", {{{}, static_cast<double>(total_steps_)}}});
  MetricFamily phases{"prlm_phase_seconds", "Wall time of each phase of the last step (timing_s/*).", "gauge", {}};
  MetricFamily components{"prlm_reward_component_mean",
                          "Mean of each reward component over the last step's samples (reward/<c>/mean).",
                          "gauge",
                          {}};
  MetricFamily queues{"prlm_service_queue_depth",
                      "Sequences waiting in a service's queue when the last step's request joined it.",
                      "gauge",
                      {}};
  std::vector<MetricFamily> others;
  if (last) {
    for (const auto& [phase, seconds] : monitor::Phases(last->timing))
      phases.samples.push_back({{{"phase", phase}}, seconds});
    if (last->rewards)
      for (const auto& [name, mean] : last->rewards->component_means)
        components.samples.push_back({{{"component", name}}, mean});
    queues.samples.push_back({{{"service", "reward"}}, static_cast<double>(last->reward_queue_depth)});
    // Every other figure as its own gauge, named after its metrics.jsonl key.
    const auto line = monitor::ToJson(*last);
    for (const auto& [key, value] : line.items()) {
      if (!value.is_number() || key == monitor::keys::kGlobalStep || key.rfind(monitor::keys::Phase(""), 0) == 0 ||
          monitor::keys::RewardComponentOf(key) || key.rfind(monitor::keys::kServicePrefix, 0) == 0)
        continue;
      others.push_back({"prlm_" + monitor::PrometheusName(key),
                        "metrics.jsonl key " + key + " of the last step.",
                        "gauge",
                        {{{}, value.get<double>()}}});
    }
  }
  for (auto* fam : {&phases, &components, &queues})
    if (!fam->samples.empty()) f.push_back(*fam);
  f.insert(f.end(), others.begin(), others.end());
  f.push_back({"prlm_steps_total",
               "Steps completed since this launch started.",
               "counter",
               {{{}, static_cast<double>(steps_)}}});
  f.push_back({"prlm_tokens_total",
               "Prompt and completion tokens processed since this launch started.",
               "counter",
               {{{}, tokens_}}});
  f.push_back({"prlm_skipped_questions_total",
               "Questions that could not be asked (retrieval or prompt errors) since this launch started.",
               "counter",
               {{{}, skipped_}}});
  MetricFamily retries{
      "prlm_service_retries_total", "Calls to a service tier retried after a timeout or failure.", "counter", {}};
  for (const auto& [service, n] : retries_) retries.samples.push_back({{{"service", service}}, n});
  if (retries.samples.empty())
    for (const char* s : {"retrieval", "reward"}) retries.samples.push_back({{{"service", s}}, 0});
  f.push_back(retries);
  f.push_back({"prlm_checkpoints_total",
               "Checkpoints written since this launch started.",
               "counter",
               {{{}, static_cast<double>(checkpoints_)}}});
  return monitor::RenderPrometheusText(f);
}

}  // namespace prlm::coordinator
