// What controllers read back from etcd: sealed by a controller of the cluster and bound to its key,
// every field type-checked, and nothing throws whatever a local user wrote there (review
// finding 3: one value of the wrong type ended every controller through the watcher thread).
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "flopline/killswitch/auth.h"
#include "flopline/killswitch/etcd.h"

namespace flopline::killswitch {
namespace {

using nlohmann::json;

Secret Master(const char* seed) {
  Secret s{};
  for (size_t i = 0; i < s.size(); ++i) s[i] = static_cast<std::uint8_t>(seed[i % 4] + i);
  return s;
}

TEST(EtcdValues, RelayedOrdersOfTheWrongTypesAreRefusedWithoutThrowing) {
  for (const char* text : {R"({"controller":1})", R"({"controller":"c","note":"n","targets":[1]})",
                           R"({"controller":"c","note":5,"targets":[]})",
                           R"({"controller":"c","note":"n","targets":"a"})",
                           R"({"controller":"c","targets":[]})", R"([1])", "5", "null"}) {
    json v = json::parse(text);
    std::optional<RelayedOrder> o;
    EXPECT_NO_THROW(o = ParseRelayedOrder(v)) << text;
    EXPECT_FALSE(o) << text;
  }
  auto o = ParseRelayedOrder(json::parse(R"({"controller":"c","note":"n","targets":["a","b"]})"));
  ASSERT_TRUE(o);
  EXPECT_EQ(o->note, "n");
  EXPECT_EQ(o->controller, "c");
  EXPECT_EQ(o->targets, (std::vector<std::string>{"a", "b"}));
}

TEST(EtcdValues, AgentEntriesNameTheirControllerAsAString) {
  for (const char* text : {R"({"controller":1})", R"({"id":"a"})", R"([])", R"("c")"}) {
    std::optional<std::string> c;
    EXPECT_NO_THROW(c = EntryController(json::parse(text))) << text;
    EXPECT_FALSE(c) << text;
  }
  EXPECT_EQ(EntryController(json::parse(R"({"controller":"c1"})")), "c1");
}

TEST(EtcdValues, OnlyValuesSealedUnderTheMasterSecretForTheirKeyOpen) {
  Secret master = Master("abcd"), other = Master("wxyz");
  const std::string key = "/flopline/ks/acks/00000000000000000007/a1";
  const std::string ack = R"({"id":"a1","fence":7,"result":"stopped"})";
  std::string sealed = SealEtcdValue(master, key, ack);
  auto opened = OpenEtcdValue(master, key, sealed);
  ASSERT_TRUE(opened);
  EXPECT_EQ((*opened)["result"], "stopped");
  // Unsealed, sealed under another secret, moved to another key, or altered: refused.
  EXPECT_FALSE(OpenEtcdValue(master, key, ack));
  EXPECT_FALSE(OpenEtcdValue(master, key, SealEtcdValue(other, key, ack)));
  EXPECT_FALSE(OpenEtcdValue(master, "/flopline/ks/acks/00000000000000000007/a2", sealed));
  json tampered = json::parse(sealed);
  tampered["msg"] = R"({"id":"a1","fence":8,"result":"stopped"})";
  EXPECT_FALSE(OpenEtcdValue(master, key, tampered.dump()));
  // Sealed, but not an object: refused too.
  EXPECT_FALSE(OpenEtcdValue(master, key, SealEtcdValue(master, key, "[1]")));
  for (const char* junk : {"", "{", "5", R"({"from":1,"msg":[],"mac":{}})"}) {
    EXPECT_NO_THROW(EXPECT_FALSE(OpenEtcdValue(master, key, junk))) << junk;
  }
}

// A keep-alive's answer: only TTL 0 (left out by the gateway) says the lease is gone; an error in
// its place (no leader, a timeout during an election: etcd 3.4's own words below) says nothing of
// the lease and must not make the controller re-register everything under a new one.
TEST(EtcdValues, AKeepAliveErrorIsNotALostLease) {
  EXPECT_TRUE(KeepAliveAnswer(json::parse(
      R"({"result":{"header":{"revision":"7"},"ID":"694d8c1b0a6f1e21","TTL":"5"}})")));
  auto gone = KeepAliveAnswer(json::parse(R"({"result":{"header":{"revision":"7"},"ID":"1"}})"));
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code, core::Code::kNotFound);
  auto zero = KeepAliveAnswer(json::parse(R"({"result":{"ID":"1","TTL":"0"}})"));
  ASSERT_FALSE(zero);
  EXPECT_EQ(zero.error().code, core::Code::kNotFound);
  for (const char* text :
       {R"({"error":{"grpc_code":14,"http_code":503,"message":"etcdserver: no leader","http_status":"Service Unavailable"}})",
        R"({"error":{"grpc_code":4,"message":"etcdserver: request timed out"}})", R"({"error":"x"})",
        R"({})", R"([1])", R"({"result":5})"}) {
    auto r = KeepAliveAnswer(json::parse(text));
    ASSERT_FALSE(r) << text;
    EXPECT_EQ(r.error().code, core::Code::kUnavailable) << text;
  }
}

// An order is one put in etcd, never split: one that could not fit in one request is refused
// before it is issued (it was kept at the head of the writer's queue for a day, every later order
// and enrolment refused behind it), and a fleet of 100,000 agents with short ids still fits.
TEST(EtcdValues, AnOrderTooLargeForOneEtcdRequestIsRefusedBeforeItIsIssued) {
  std::vector<std::string> fleet;
  for (int i = 0; i < 100'000; ++i) fleet.push_back(fmt::format("a{:06}", i));
  EXPECT_TRUE(EtcdOrderFits(fleet, {}).has_value());
  EXPECT_TRUE(EtcdOrderFits({"one"}, {"one"}).has_value());

  std::vector<std::string> long_ids;
  for (int i = 0; i < 6'000; ++i) long_ids.push_back(fmt::format("{:0>256}", i));
  auto refused = EtcdOrderFits(long_ids, {});
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code, core::Code::kFailedPrecondition);
  EXPECT_NE(refused.error().message.find("6000 agents"), std::string::npos)
      << refused.error().message;
  EXPECT_NE(refused.error().message.find("narrow the scope"), std::string::npos);

  // Named by lineage, in the note, escaped twice: counted so.
  std::vector<std::string> half(long_ids.begin(), long_ids.begin() + 1'500);
  EXPECT_TRUE(EtcdOrderFits(half, {}).has_value());
  EXPECT_FALSE(EtcdOrderFits(half, half).has_value());
  // Quotes in ids are escaped in the sealed entry: counted too.
  std::vector<std::string> quoted(2'800, std::string(256, '"'));
  std::vector<std::string> plain(2'800, std::string(256, 'q'));
  EXPECT_TRUE(EtcdOrderFits(plain, {}).has_value());
  EXPECT_FALSE(EtcdOrderFits(quoted, {}).has_value());
}

}  // namespace
}  // namespace flopline::killswitch
