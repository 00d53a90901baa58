#include "common/retrieval/index_refresh.h"

#include <filesystem>
#include <thread>

#include "common/net/message_types.h"
#include "proto/retrieval.pb.h"

namespace prlm::retrieval {

std::vector<ShardRefresh> RefreshShards(const std::vector<net::Endpoint>& servers, const net::ClientOptions& client,
                                        const std::string& encoder_dir, std::chrono::seconds timeout) {
  proto::RefreshIndexRequest request;
  request.set_encoder_dir(std::filesystem::absolute(encoder_dir).string());
  const std::string payload = request.SerializeAsString();
  std::vector<ShardRefresh> out(servers.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < servers.size(); ++i)
    threads.emplace_back([&, i] {
      ShardRefresh& r = out[i];
      r.server = servers[i].host + ":" + std::to_string(servers[i].port);
      try {
        net::RpcClient rpc(servers[i], client);
        proto::RefreshIndexReply reply;
        if (!reply.ParseFromString(rpc.Call(net::kRefreshIndexRequest, payload, timeout).payload)) {
          r.error = "no reply: the reply does not parse";
          return;
        }
        r.ok = reply.ok();
        r.index_version = reply.index_version();
        r.seconds = reply.seconds();
        if (!r.ok) r.error = "still serving version " + std::to_string(reply.index_version()) + ": " + reply.error();
      } catch (const std::exception& e) {
        r.error = std::string("no reply: ") + e.what();
      }
    });
  for (auto& t : threads) t.join();
  return out;
}

}  // namespace prlm::retrieval
