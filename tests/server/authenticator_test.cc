// WorkspaceAuthenticator's token cache (issue 13 review, findings 2 and 3): only a real mismatch is
// remembered as wrong, and wrong tokens never push the valid ones out.
#include "flopline/server/api.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <filesystem>

#include <fmt/format.h>

#include "flopline/http/auth.h"

namespace flopline::server {
namespace {

class AuthenticatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/flopline-auth-test.XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
    auto signer = ledger::Signer::Generate("test.example/auth");
    ASSERT_TRUE(signer);
    workspace::Options o;
    o.store = "sqlite:" + dir_ + "/ws.db";
    o.regimes_dir = std::string(FLOPLINE_SOURCE_DIR) + "/regimes";
    o.data_dir = std::string(FLOPLINE_SOURCE_DIR) + "/data";
    o.origin = "test.example/auth";
    o.signer = *signer;
    auto ws = workspace::Workspace::Open(o);
    ASSERT_TRUE(ws) << ws.error().ToString();
    ws_ = std::move(*ws);
    good_ = http::MakeToken("carol");
    workspace::User carol;
    carol.name = "carol";
    carol.role = "auditor";
    carol.token_hash = "$argon2id$carols";
    ASSERT_TRUE(ws_->PutUser(carol, "test"));
    auth_ = std::make_unique<WorkspaceAuthenticator>(*ws_);
  }
  void TearDown() override {
    auth_.reset();
    ws_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::string dir_, good_;
  std::unique_ptr<workspace::Workspace> ws_;
  std::unique_ptr<WorkspaceAuthenticator> auth_;
};

TEST(CheckSecret, SaysMatchAndMismatchApart) {
  auto hash = http::HashSecret("right");
  ASSERT_TRUE(hash);
  EXPECT_EQ(http::CheckSecret(*hash, "right"), http::SecretCheck::kMatch);
  EXPECT_EQ(http::CheckSecret(*hash, "wrong"), http::SecretCheck::kMismatch);
  EXPECT_TRUE(http::VerifySecret(*hash, "right"));
  EXPECT_FALSE(http::VerifySecret(*hash, "wrong"));
}

// argon2id failing to allocate its memory is not a wrong token: the valid token is refused that
// once and accepted on the next request (it stayed refused from the cache until reissued before).
TEST_F(AuthenticatorTest, ATokenThatCouldNotBeCheckedIsNotRememberedAsWrong) {
  std::atomic<int> calls{0};
  auth_->SetCheckerForTests([&](const std::string& hash, std::string_view secret) {
    EXPECT_EQ(hash, "$argon2id$carols");
    if (calls++ == 0) return http::SecretCheck::kCouldNotCheck;
    return secret == good_ ? http::SecretCheck::kMatch : http::SecretCheck::kMismatch;
  });
  EXPECT_FALSE(auth_->Token(good_));
  auto second = auth_->Token(good_);
  ASSERT_TRUE(second);
  EXPECT_EQ(second->name, "carol");
  EXPECT_EQ(second->role, "auditor");
  EXPECT_EQ(calls.load(), 2);
  EXPECT_TRUE(auth_->Token(good_));  // remembered now
  EXPECT_EQ(calls.load(), 2);
}

// Many distinct wrong tokens for a real user: each is checked once and remembered (a bounded
// number), and none of them makes the valid token's check run again.
TEST_F(AuthenticatorTest, DistinctWrongTokensNeverPushOutTheValidOne) {
  std::atomic<int> calls{0};
  auth_->SetCheckerForTests([&](const std::string&, std::string_view secret) {
    ++calls;
    return secret == good_ ? http::SecretCheck::kMatch : http::SecretCheck::kMismatch;
  });
  ASSERT_TRUE(auth_->Token(good_));
  ASSERT_EQ(calls.load(), 1);
  const int wrong = static_cast<int>(WorkspaceAuthenticator::kMaxRefused) * 2 + 10;
  for (int i = 0; i < wrong; ++i) EXPECT_FALSE(auth_->Token(fmt::format("flt_carol.wrong{}", i)));
  EXPECT_EQ(calls.load(), 1 + wrong);
  EXPECT_TRUE(auth_->Token(good_));
  EXPECT_EQ(calls.load(), 1 + wrong);  // the valid one still remembered
  // The latest wrong one is remembered (refused without a check); the first was forgotten.
  EXPECT_FALSE(auth_->Token(fmt::format("flt_carol.wrong{}", wrong - 1)));
  EXPECT_EQ(calls.load(), 1 + wrong);
  EXPECT_FALSE(auth_->Token("flt_carol.wrong0"));
  EXPECT_EQ(calls.load(), 2 + wrong);
}

}  // namespace
}  // namespace flopline::server
