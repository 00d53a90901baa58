#include "options/retriever_options.h"

#include "options/server_options.h"
#include "common/config/train_config.h"
#include "common/retrieval/retrieval_client.h"
#include "retrieval_shards/local_retriever.h"

namespace prlm::options {

void AddRetrieverOptions(Args& args, const char* retriever_help, const char* k_help, const char* k_default) {
  // The defaults are the training job's (retrieval.retriever, retrieval.k).
  const config::RetrievalConfig defaults;
  args.Option("retriever", "R", std::string(config::NameOf(defaults.retriever)), retriever_help)
      .Option("k", "K", k_default ? std::string(k_default) : std::to_string(defaults.k), k_help)
      .Option("retrieval-server", "HOST:PORT[,...]", "", "shard servers, in shard order")
      .Option("index", "DIR", "", "an index written by build-index")
      .Option("encoder", "DIR", "", "BERT encoder for dense retrieval");
  AddClientSecretOptions(args);  // with --retrieval-server
}

std::unique_ptr<retrieval::ProfileRetriever> OpenRetriever(const Args& args,
                                                           const std::vector<const data::Dataset*>& data,
                                                           const std::vector<std::string>& built) {
  if (args.Has("retrieval-server")) {
    auto client = std::make_unique<retrieval::RetrievalClient>(net::ParseEndpoints(args.Get("retrieval-server")),
                                                               ClientOptionsFrom(args));
    client->VerifyShards();
    return client;
  }
  if (args.Has("index")) return retrieval_shards::LocalRetriever::Open(args.Get("index"), args.Get("encoder"));
  retrieval_shards::IndexOptions options;
  for (const auto& r : built)
    if (r == "bm25" || r == "dense" || r == "dense_hnsw") options.built.push_back(r);
  retrieval_shards::DenseEncoderOptions encoder;
  encoder.model_dir = args.Get("encoder");
  return retrieval_shards::LocalRetriever::Build(data, options, encoder);
}

}  // namespace prlm::options
