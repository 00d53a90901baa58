#include "common/generation/paged_forward.h"

namespace prlm::generation {

torch::Tensor PagedForward(model::CausalLM& model, const torch::Tensor& ids, const AttentionBatch& batch,
                           KvBlockPool& pool) {
  const auto device = ids.device();
  const int64_t N = ids.size(0);
  const auto positions = torch::tensor(batch.positions, torch::kInt).to(device, torch::kLong).view({1, N});
  auto [cos, sin] = model->RotaryCosSin(positions);  // [1, N, 1, head_dim]
  auto h = model->model->embed_tokens(ids.view({1, N}));
  auto& layers = *model->model->layers;
  for (size_t i = 0; i < layers.size(); ++i) {
    auto* layer = layers[i]->as<model::DecoderLayerImpl>();
    auto [q, k, v] = layer->self_attn->ProjectQkv(layer->input_layernorm(h), cos, sin);
    const auto attn = PagedAttention(q[0], k[0], v[0], pool, static_cast<int64_t>(i), batch);
    h = h + layer->self_attn->o_proj(attn.unsqueeze(0));
    h = h + layer->mlp(layer->post_attention_layernorm(h));
  }
  return model->model->norm(h)[0];
}

}  // namespace prlm::generation
