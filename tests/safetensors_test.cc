// safetensors: bit-exact round trips and every malformed-file case refused
// with a message naming the file, tensor and problem.
#include "common/model/safetensors.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstring>

#include "common/model/pretrained.h"
#include "common/model/weights_io.h"
#include "common/util/check.h"
#include "tests/test_util.h"

namespace prlm::model {
namespace {

using prlm::testing::TempDir;
using prlm::testing::WriteBytes;

// A file with a hand-written header and `data_bytes` of data.
std::string RawFile(const std::string& header, size_t data_bytes, uint64_t claimed_len = 0) {
  std::string out;
  const uint64_t n = claimed_len ? claimed_len : header.size();
  out.append(reinterpret_cast<const char*>(&n), 8);
  out += header;
  out.append(data_bytes, '\x01');
  return out;
}

void ExpectRefused(const std::string& bytes, const std::string& needle) {
  TempDir dir;
  const std::string path = dir / "bad.safetensors";
  WriteBytes(path, bytes);
  prlm::testing::ExpectErrorContaining([&] { SafetensorsFile f(path); }, {needle, "bad.safetensors"});
}

TEST(Safetensors, RoundTripIsBitExactForEveryFloatType) {
  TempDir dir;
  torch::manual_seed(0);
  const auto f32 = torch::randn({3, 5});
  const auto f16 = torch::randn({7}).to(torch::kHalf);
  const auto bf16 = torch::randn({2, 2, 3}).to(torch::kBFloat16);
  const std::vector<TensorBytes> tensors = {
      {"a.f32", DType::kF32, {3, 5}, f32.data_ptr(), static_cast<size_t>(f32.nbytes())},
      {"b.f16", DType::kF16, {7}, f16.data_ptr(), static_cast<size_t>(f16.nbytes())},
      {"c.bf16", DType::kBF16, {2, 2, 3}, bf16.data_ptr(), static_cast<size_t>(bf16.nbytes())},
      {"d.empty", DType::kF32, {0, 4}, nullptr, 0}};
  WriteSafetensors(dir / "t.safetensors", tensors, {{"format", "pt"}});
  SafetensorsFile f(dir / "t.safetensors");
  EXPECT_EQ(f.metadata().at("format"), "pt");
  ASSERT_EQ(f.tensors().size(), 4u);
  for (const auto& t : tensors) {
    const auto& info = f.Info(t.name);
    EXPECT_EQ(info.dtype, t.dtype);
    EXPECT_EQ(info.shape, t.shape);
    ASSERT_EQ(info.end - info.begin, t.nbytes);
    if (t.nbytes) {
      EXPECT_EQ(std::memcmp(f.Data(info), t.data, t.nbytes), 0) << t.name;
    }
  }
  EXPECT_TRUE(torch::equal(ReadTensor(f, f.Info("c.bf16")), bf16));
  // The data section starts 8-byte aligned, as Hugging Face writes it.
  uint64_t header_len = 0;
  std::ifstream(dir / "t.safetensors", std::ios::binary).read(reinterpret_cast<char*>(&header_len), 8);
  EXPECT_EQ(header_len % 8, 0u);
}

TEST(Safetensors, MalformedFilesAreRefused) {
  ExpectRefused("abc", "too small");
  ExpectRefused(RawFile("{}", 0, 4096), "header length 4096 runs past the end");
  ExpectRefused(RawFile("{\"a\": ", 0), "not valid JSON");
  ExpectRefused(RawFile("[1, 2]", 0), "not a JSON object");
  ExpectRefused(RawFile(R"({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}})", 4),
                "tensor 'w': data_offsets [0, 8] fall outside the data section (4 bytes)");
  ExpectRefused(RawFile(R"({"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}})", 8),
                "dtype F32 with shape [3] needs 12 bytes but data_offsets give 8");
  ExpectRefused(RawFile(R"({"w": {"dtype": "Q4", "shape": [2], "data_offsets": [0, 2]}})", 2), "unknown dtype 'Q4'");
  ExpectRefused(RawFile(R"({"w": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}})", 4), "negative dimension");
  ExpectRefused(RawFile(R"({"w": {"dtype": "F32", "shape": [2]}})", 8), "needs dtype, shape and data_offsets");
  ExpectRefused(RawFile(R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                            "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}})",
                        12),
                "overlaps tensor");
  ExpectRefused(RawFile(R"({"w": {"dtype": "F32", "shape": [4611686018427387904, 4], "data_offsets": [0, 16]}})", 16),
                "needs");
}

TEST(Safetensors, MissingTensorAndWrongShapeAreNamedWhenLoadingAModel) {
  TempDir dir;
  DecoderConfig cfg = DecoderPreset("tiny", 256);
  cfg.num_hidden_layers = 2;
  CausalLM m(cfg);
  SaveCausalLM(m, dir / "m");
  // Ask for one more layer than the checkpoint has.
  DecoderConfig more = cfg;
  more.num_hidden_layers = 3;
  WriteBytes(dir / "m/config.json", more.ToJson());
  prlm::testing::ExpectErrorContaining([&] { LoadCausalLM(dir / "m"); },
                                       {"has no tensor 'model.layers.2.", "3 layers"});
  // A different hidden size: shape mismatch names tensor and both shapes.
  DecoderConfig wider = cfg;
  wider.hidden_size = 256;
  WriteBytes(dir / "m/config.json", wider.ToJson());
  prlm::testing::ExpectErrorContaining(
      [&] { LoadCausalLM(dir / "m"); },
      {"'model.embed_tokens.weight' has shape [256, 128] but the config implies [256, 256]"});
}

TEST(ModelConfig, BadConfigsNameTheField) {
  const auto expect = [](const std::string& json, const std::string& needle) {
    prlm::testing::ExpectErrorContaining([&] { DecoderConfig::FromJsonText(json, "cfg.json"); }, {needle, "cfg.json"});
  };
  expect("{", "not valid JSON");
  expect(R"({"vocab_size": 10})", "missing required field 'hidden_size'");
  expect(R"({"vocab_size": 10, "hidden_size": "big", "intermediate_size": 4, "num_hidden_layers": 1,
             "num_attention_heads": 1})",
         "field 'hidden_size' must be an integer");
  expect(R"({"vocab_size": 10, "hidden_size": 10, "intermediate_size": 4, "num_hidden_layers": 1,
             "num_attention_heads": 3})",
         "not divisible by num_attention_heads");
  expect(R"({"vocab_size": 10, "hidden_size": 12, "intermediate_size": 4, "num_hidden_layers": 1,
             "num_attention_heads": 2, "num_key_value_heads": 3})",
         "not a multiple of num_key_value_heads");
}

}  // namespace
}  // namespace prlm::model
