// Small random models shared by the model tests.
#pragma once

#include "common/model/bert.h"
#include "common/model/pretrained.h"
#include "common/model/causal_lm.h"

namespace prlm::testing {

// A model of config `c`, weights drawn with `stddev` from `seed`, in eval mode.
inline model::CausalLM RandomCausalLM(const model::DecoderConfig& c, double stddev, uint64_t seed) {
  model::CausalLM m(c);
  model::InitializeWeights(*m, stddev, seed);
  m->eval();
  return m;
}

// 2 layers, GQA (4 query heads over 2 KV heads), untied or tied LM head.
inline model::CausalLM TinyCausalLM(bool tied = false, uint64_t seed = 1) {
  model::DecoderConfig c = model::DecoderPreset("tiny", 97);
  c.hidden_size = 64, c.intermediate_size = 96, c.num_hidden_layers = 2;
  c.num_attention_heads = 4, c.num_key_value_heads = 2, c.tie_word_embeddings = tied;
  c.rope_theta = 1000.0;
  return RandomCausalLM(c, 0.2, seed);  // large enough for non-trivial logits
}

inline model::BertEncoder TinyBert(int64_t num_labels = 0, uint64_t seed = 2) {
  model::BertConfig c = model::BertPreset("tiny", 50);
  c.hidden_size = 32, c.intermediate_size = 64, c.num_hidden_layers = 2, c.num_attention_heads = 4;
  c.max_position_embeddings = 64, c.num_labels = num_labels;
  model::BertEncoder m(c);
  model::InitializeWeights(*m, 0.2, seed);
  m->eval();
  return m;
}

}  // namespace prlm::testing
