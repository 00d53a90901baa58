// prlm tokenize / chat-template / train-tokenizer.
#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "cli/commands.h"
#include "common/jinja/chat_template.h"
#include "common/text/tokenizer.h"
#include "common/util/check.h"
#include "common/util/file.h"
#include "options/args.h"
#include "pipeline/bpe_trainer.h"
#include "pipeline/init_model.h"

namespace prlm::cli {

int RunTokenize(int argc, char** argv) {
  options::Args args("tokenize", "Print the token ids of every input line as one JSON array per line.");
  args.Option("tokenizer", "FILE", "", "Hugging Face tokenizer.json", true)
      .Option("input", "FILE", "-", "text file, one input per line ('-' = standard input)")
      .Flag("add-special-tokens", "apply the post-processor template (e.g. BERT's [CLS] ... [SEP])");
  if (!args.Parse(argc, argv)) return 0;
  const auto tok = text::Tokenizer::FromFile(args.Get("tokenizer"));
  const bool special = args.GetFlag("add-special-tokens");
  std::ifstream file;
  std::istream* in = &std::cin;
  if (args.Get("input") != "-") {
    file.open(args.Get("input"), std::ios::binary);
    PRLM_REQUIRE(file, "cannot open input '" << args.Get("input") << "'");
    in = &file;
  }
  for (std::string line; std::getline(*in, line);)
    std::printf("%s\n", nlohmann::json(tok->Encode(line, special)).dump().c_str());
  return 0;
}

int RunChatTemplate(int argc, char** argv) {
  options::Args args("chat-template",
                     "Render a conversation with a model's own chat template (chat_template.jinja or\n"
                     "tokenizer_config.json's chat_template), as transformers' apply_chat_template does.\n"
                     "--messages is a JSON list of {role, content} or an object {messages, tools, ...}; every other\n"
                     "key of the object is passed to the template too. Prints the text (or, with --ids, its ids).");
  args.Option("model", "DIR", "", "model directory", true)
      .Option("messages", "FILE", "", "the conversation (JSON)", true)
      .Flag("add-generation-prompt", "end with the assistant's turn opening")
      .Option("enable-thinking", "true|false", "", "pass enable_thinking (Qwen3's templates read it)")
      .Flag("ids", "print the token ids of the rendered text (tokenizer.json, no special-token template)");
  if (!args.Parse(argc, argv)) return 0;
  const std::string dir = args.Get("model");
  const auto chat = jinja::ChatTemplate::FromModelDir(dir);
  PRLM_REQUIRE(chat, "model '" << dir
                               << "' has no chat template (no chat_template.jinja, no chat_template in "
                                  "tokenizer_config.json)");
  jinja::Conversation conversation = jinja::ReadConversation(args.Get("messages"));
  if (args.Has("enable-thinking")) {
    const std::string v = args.Get("enable-thinking");
    PRLM_REQUIRE(v == "true" || v == "false", "--enable-thinking must be true or false, got '" << v << "'");
    conversation.extra["enable_thinking"] = v == "true";
  }
  const std::string text =
      chat->Render(conversation.messages, args.GetFlag("add-generation-prompt"), conversation.extra);
  if (!args.GetFlag("ids")) {
    std::fwrite(text.data(), 1, text.size(), stdout);
    return 0;
  }
  const auto tok = text::Tokenizer::FromFile(dir + "/tokenizer.json");
  std::printf("%s\n", nlohmann::json(tok->Encode(text, false)).dump().c_str());
  return 0;
}

int RunTrainTokenizer(int argc, char** argv) {
  options::Args args("train-tokenizer",
                     "Train a byte-level BPE tokenizer with the Qwen2 pre-tokenizer on text files\n"
                     "and write DIR/tokenizer.json.");
  pipeline::BpeTrainerOptions opt;
  args.Bind("vocab-size", "N", &opt.vocab_size, "vocabulary size including 256 bytes and special tokens")
      .Bind("min-frequency", "N", &opt.min_frequency, "never merge a pair seen fewer times")
      .Option("out", "DIR", "", "output directory", true)
      .Positional("corpus...", "text files; each line is one training text");
  if (!args.Parse(argc, argv)) return 0;
  PRLM_REQUIRE(!args.positional().empty(), "prlm train-tokenizer: give at least one corpus file");
  const std::vector<std::string> lines = pipeline::ReadCorpusLines(args.positional());
  opt.progress = [](int done, int planned) {
    std::fprintf(stderr, "train-tokenizer: %d / %d merges\n", done, planned);
  };
  const std::string json = pipeline::TrainByteLevelBpe(lines, opt);
  std::filesystem::create_directories(args.Get("out"));
  const std::string path = args.Get("out") + "/tokenizer.json";
  util::WriteFileAtomic(path, json);
  pipeline::WriteTokenizerConfig(args.Get("out"), /*wordpiece=*/false);
  const auto tok = text::Tokenizer::FromJsonText(json, path);
  std::fprintf(stderr, "train-tokenizer: wrote %s (%d tokens) from %zu lines\n", path.c_str(), tok->vocab_size(),
               lines.size());
  return 0;
}

}  // namespace prlm::cli
