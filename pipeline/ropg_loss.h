// ROPG's two retriever losses (Salemi et al., SIGIR 2024; REFERENCE.md,
// section ROPG), over Q questions with N first-stage candidates each:
// the retriever's scores s [Q, N] and the LLM's utilities u [Q, N] of
// answering with each candidate alone.
//
//   RL  p = softmax(s); d ~ p (drawn by the caller, `sampled` [Q]);
//       A = u(d) - u(d_1), where d_1 is candidate 0 (the first-stage
//       ranking's top); loss = mean over questions of -log p(d) * A.
//   KD  teacher = softmax(u / T), student = softmax(s / T);
//       loss = mean over questions of KL(teacher || student).
//       KdLossFromTeacher takes the teacher's probabilities as given (a
//       one-hot teacher gives the cross-entropy of its target).
//
// The utilities carry no gradient. Shapes are checked (util::Error naming
// them); fp32 or fp64, on any device. Thread-safety: pure functions.
#pragma once

#include <torch/torch.h>

namespace prlm::pipeline {

// REQUIRES: scores, utilities [Q, N]; sampled [Q] (long, in [0, N)).
at::Tensor RopgRlLoss(const at::Tensor& scores, const at::Tensor& utilities, const at::Tensor& sampled);

// REQUIRES: scores, utilities [Q, N]; temperature > 0.
at::Tensor RopgKdLoss(const at::Tensor& scores, const at::Tensor& utilities, double temperature);

// REQUIRES: scores, teacher [Q, N]; each teacher row sums to 1.
at::Tensor KdLossFromTeacher(const at::Tensor& scores, const at::Tensor& teacher, double temperature);

}  // namespace prlm::pipeline
