#include "pipeline/rm_trainer.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <numeric>
#include <sstream>

#include "common/util/check.h"
#include "common/util/json_lines.h"
#include "common/util/rng.h"

namespace prlm::pipeline {
namespace {

struct EncodedPair {
  text::Encoding chosen, rejected;
};

std::vector<EncodedPair> EncodeAll(reward::RewardModel& rm, const std::vector<const RmPair*>& pairs) {
  std::vector<EncodedPair> out;
  out.reserve(pairs.size());
  for (const auto* p : pairs) out.push_back({rm.Encode(p->query, p->chosen), rm.Encode(p->query, p->rejected)});
  return out;
}

// Scores of chosen and rejected for pairs[begin, end): [2, n].
torch::Tensor PairScores(reward::RewardModel& rm, const std::vector<EncodedPair>& pairs,
                         const std::vector<size_t>& order, size_t begin, size_t end) {
  std::vector<const text::Encoding*> batch;
  for (size_t i = begin; i < end; ++i) batch.push_back(&pairs[order[i]].chosen);
  for (size_t i = begin; i < end; ++i) batch.push_back(&pairs[order[i]].rejected);
  return rm.Forward(batch).view({2, static_cast<int64_t>(end - begin)});
}

RmEvalResult Evaluate(reward::RewardModel& rm, const std::vector<EncodedPair>& pairs, int batch_size) {
  RmEvalResult r;
  r.pairs = pairs.size();
  if (pairs.empty()) return r;
  torch::NoGradGuard no_grad;
  rm.encoder()->eval();
  std::vector<size_t> order(pairs.size());
  std::iota(order.begin(), order.end(), 0);
  double correct = 0, loss = 0;
  for (size_t b = 0; b < pairs.size(); b += static_cast<size_t>(batch_size)) {
    const size_t e = std::min(pairs.size(), b + static_cast<size_t>(batch_size));
    const auto s = PairScores(rm, pairs, order, b, e);
    const auto margin = s[0] - s[1];
    correct += (margin > 0).sum().item<double>();
    loss += -torch::log_sigmoid(margin).sum().item<double>();
  }
  r.accuracy = correct / double(pairs.size());
  r.loss = loss / double(pairs.size());
  return r;
}

std::string Fixed(double v, int digits) {
  std::ostringstream s;
  s.setf(std::ios::fixed);
  s.precision(digits);
  s << v;
  return s.str();
}

}  // namespace

RmEvalResult EvaluatePairs(reward::RewardModel& rm, const std::vector<RmPair>& pairs, int batch_size) {
  std::vector<const RmPair*> ptrs;
  for (const auto& p : pairs) ptrs.push_back(&p);
  return Evaluate(rm, EncodeAll(rm, ptrs), batch_size);
}

RmTrainReport TrainRewardModel(reward::RewardModel& rm, const std::vector<RmPair>& pairs, const RmTrainOptions& o,
                               const std::function<void(const std::string&)>& log) {
  PRLM_REQUIRE(pairs.size() >= 2, "reward-model training needs at least 2 pairs, got " << pairs.size());
  PRLM_REQUIRE(o.batch_size >= 1 && o.epochs >= 1 && o.lr > 0, "batch size, epochs and lr must be positive");
  PRLM_REQUIRE(o.eval_fraction >= 0 && o.eval_fraction < 1, "the held-out fraction must be in [0, 1)");
  const auto start = std::chrono::steady_clock::now();
  const auto say = [&](const std::string& line) {
    if (log) log(line);
  };
  RmTrainReport report;

  // 1. Split 90/10 with the seed; encode every pair once.
  std::vector<size_t> order(pairs.size());
  std::iota(order.begin(), order.end(), 0);
  util::Shuffle(order, o.seed);
  size_t n_eval = static_cast<size_t>(std::llround(o.eval_fraction * double(pairs.size())));
  if (o.eval_fraction > 0 && n_eval == 0) n_eval = 1;
  n_eval = std::min(n_eval, pairs.size() - 1);
  std::vector<const RmPair*> train_ptrs, eval_ptrs;
  for (size_t i = 0; i < order.size(); ++i) (i < n_eval ? eval_ptrs : train_ptrs).push_back(&pairs[order[i]]);
  const auto train = EncodeAll(rm, train_ptrs), held_out = EncodeAll(rm, eval_ptrs);
  report.train_pairs = train.size();
  report.eval_pairs = held_out.size();

  // 2. The untrained model on the held-out pairs.
  report.before = Evaluate(rm, held_out, o.batch_size);
  say("held-out pairs " + std::to_string(held_out.size()) + " before training: accuracy " +
      Fixed(report.before.accuracy, 4) + ", loss " + Fixed(report.before.loss, 4));

  // 3. AdamW with a linear decay to 0 over every step.
  torch::manual_seed(o.seed);
  auto params = rm.encoder()->parameters();
  torch::optim::AdamW optimizer(
      params, torch::optim::AdamWOptions(o.lr).betas({0.9, 0.999}).eps(1e-8).weight_decay(o.weight_decay));
  const size_t steps_per_epoch = (train.size() + o.batch_size - 1) / o.batch_size;
  const int total_steps = static_cast<int>(steps_per_epoch) * o.epochs;
  std::vector<size_t> epoch_order(train.size());
  std::iota(epoch_order.begin(), epoch_order.end(), 0);
  for (int epoch = 0; epoch < o.epochs; ++epoch) {
    util::Shuffle(epoch_order, o.seed + 1 + static_cast<uint64_t>(epoch));
    rm.encoder()->train();
    double epoch_loss = 0;
    for (size_t b = 0; b < train.size(); b += static_cast<size_t>(o.batch_size)) {
      const size_t e = std::min(train.size(), b + static_cast<size_t>(o.batch_size));
      const double lr = o.lr * double(total_steps - report.steps) / double(total_steps);
      for (auto& group : optimizer.param_groups()) static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
      const auto s = PairScores(rm, train, epoch_order, b, e);
      const auto loss = -torch::log_sigmoid(s[0] - s[1]).mean();
      optimizer.zero_grad();
      loss.backward();
      if (o.max_grad_norm > 0) torch::nn::utils::clip_grad_norm_(params, o.max_grad_norm);
      optimizer.step();
      const double l = loss.item<double>();
      PRLM_REQUIRE(std::isfinite(l),
                   "reward-model loss became " << l << " at step " << report.steps + 1 << " (lower --lr?)");
      report.step_loss.push_back(l);
      epoch_loss += l;
      ++report.steps;
      if (o.log_every > 0 && (report.steps % o.log_every == 0 || report.steps == total_steps))
        say("epoch " + std::to_string(epoch + 1) + "/" + std::to_string(o.epochs) + " step " +
            std::to_string(report.steps) + "/" + std::to_string(total_steps) + " loss " + Fixed(l, 4) + " lr " +
            Fixed(lr * 1e6, 2) + "e-6");
    }
    report.epoch_train_loss.push_back(epoch_loss / double(steps_per_epoch));
    report.after_epoch.push_back(Evaluate(rm, held_out, o.batch_size));
    say("epoch " + std::to_string(epoch + 1) + " done: train loss " + Fixed(report.epoch_train_loss.back(), 4) +
        ", held-out accuracy " + Fixed(report.after_epoch.back().accuracy, 4) + ", held-out loss " +
        Fixed(report.after_epoch.back().loss, 4));
  }
  rm.encoder()->eval();
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

std::string RmTrainReport::ToJson() const {
  nlohmann::ordered_json j;
  const auto eval = [](const RmEvalResult& r) {
    return nlohmann::ordered_json{{"pairs", r.pairs}, {"accuracy", r.accuracy}, {"loss", r.loss}};
  };
  j["train_pairs"] = train_pairs;
  j["eval_pairs"] = eval_pairs;
  j["steps"] = steps;
  j["held_out_before"] = eval(before);
  j["held_out_after_epoch"] = nlohmann::ordered_json::array();
  for (const auto& r : after_epoch) j["held_out_after_epoch"].push_back(eval(r));
  j["epoch_train_loss"] = epoch_train_loss;
  j["step_loss"] = step_loss;
  j["seconds"] = seconds;
  return j.dump(2) + "\n";
}

std::vector<std::pair<std::string, std::string>> ReadQueryAnswerPairs(const std::string& path) {
  std::vector<std::pair<std::string, std::string>> pairs;
  util::ForEachJsonLine(path, [&](const nlohmann::json& j, const std::string& where, size_t) {
    pairs.emplace_back(util::JsonLineString(j, where, "query", true), util::JsonLineString(j, where, "answer", true));
  });
  return pairs;
}

void WriteRmScores(reward::RewardModel& rm, const std::vector<std::pair<std::string, std::string>>& pairs,
                   int batch_size, FILE* out) {
  const auto scores = rm.ScoreTexts(pairs, batch_size);
  for (size_t i = 0; i < pairs.size(); ++i) {
    nlohmann::ordered_json j;
    j["query"] = pairs[i].first;
    j["answer"] = pairs[i].second;
    j["score"] = scores[i];
    j["sigmoid"] = 1.0 / (1.0 + std::exp(-double(scores[i])));
    std::fprintf(out, "%s\n", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  }
}

}  // namespace prlm::pipeline
