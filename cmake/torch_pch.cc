// The one source of prlm_torch_pch (CMakeLists.txt): a target needs one to
// own the precompiled <torch/torch.h> that the torch targets reuse.
