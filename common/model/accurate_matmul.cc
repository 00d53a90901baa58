#include "common/model/accurate_matmul.h"

#include <ATen/autocast_mode.h>
#include <c10/core/impl/LocalDispatchKeySet.h>
#include <torch/torch.h>

#include "common/model/compute_setup.h"

namespace prlm::model {

torch::Tensor MatmulAccumulatingInFp32(const torch::Tensor& a, const torch::Tensor& b) {
  static const bool emulated_bf16 = !CpuHasNativeBf16();
  const bool bf16 = a.scalar_type() == torch::kBFloat16 || b.scalar_type() == torch::kBFloat16 ||
                    (at::autocast::is_cpu_enabled() && at::autocast::get_autocast_cpu_dtype() == torch::kBFloat16);
  if (!emulated_bf16 || !a.is_cpu() || !bf16) return torch::matmul(a, b);
  // Autocast would lower the widened product to bf16 again.
  c10::impl::ExcludeDispatchKeyGuard no_autocast(c10::autocast_dispatch_keyset);
  const auto widen = [](const torch::Tensor& t) { return t.to(torch::kBFloat16).to(torch::kFloat); };
  return torch::matmul(widen(a), widen(b)).to(torch::kBFloat16);
}

}  // namespace prlm::model
