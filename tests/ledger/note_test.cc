// Signed notes and checkpoints, against the C2SP / Go sumdb published example.
#include "flopline/ledger/note.h"

#include <gtest/gtest.h>

namespace flopline::ledger {
namespace {

// The example of C2SP signed-note and golang.org/x/mod/sumdb/note (data, not code): Ed25519 is
// deterministic, so the same key and text must give this exact signature line.
constexpr char kSignerKey[] = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
constexpr char kVerifierKey[] = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
constexpr char kText[] =
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n";
constexpr char kSignature[] =
    "\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

TEST(Note, SignsThePublishedExampleByteForByte) {
  auto signer = Signer::Parse(kSignerKey);
  ASSERT_TRUE(signer) << signer.error().ToString();
  EXPECT_EQ(signer->VerifierKey(), kVerifierKey);
  EXPECT_EQ(signer->SignerKey(), kSignerKey);
  EXPECT_EQ(*signer->Sign(kText), std::string(kText) + "\n" + kSignature);
}

TEST(Note, OpensThePublishedExample) {
  auto verifier = Verifier::Parse(kVerifierKey);
  ASSERT_TRUE(verifier);
  EXPECT_EQ(verifier->key_id(), 0xc74f20a3u);
  std::string note = std::string(kText) + "\n" + kSignature;
  EXPECT_EQ(*verifier->Open(note), kText);
  // A second signer's line is ignored, not an error (C2SP: verifiers skip unknown keys).
  EXPECT_EQ(*verifier->Open(note + "\u2014 Other AAAAAAAA\n"), kText);
}

TEST(Note, RejectsAlteredNotesAndForeignKeys) {
  auto verifier = *Verifier::Parse(kVerifierKey);
  std::string note = std::string(kText) + "\n" + kSignature;
  std::string altered = note;
  altered[3] ^= 1;
  EXPECT_FALSE(verifier.Open(altered));
  std::string bad_sig = note;
  bad_sig[note.size() - 10] = bad_sig[note.size() - 10] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(verifier.Open(bad_sig));
  EXPECT_FALSE(verifier.Open(kText));  // unsigned
  auto other = *Signer::Generate("PeterNeumann");  // same name, another key
  EXPECT_FALSE(verifier.Open(*other.Sign(kText)));
}

TEST(Note, RoundTripsAFreshKey) {
  auto signer = *Signer::Generate("example.com/log");
  auto verifier = *Verifier::Parse(signer.VerifierKey());
  auto note = *signer.Sign("hello\n");
  EXPECT_EQ(*verifier.Open(note), "hello\n");
  auto reparsed = *Signer::Parse(signer.SignerKey() + "\n");
  EXPECT_EQ(reparsed.VerifierKey(), signer.VerifierKey());
  EXPECT_FALSE(signer.Sign("no newline"));
}

TEST(Note, RejectsMalformedKeys) {
  EXPECT_FALSE(Signer::Generate("has space"));
  EXPECT_FALSE(Signer::Generate("a+b"));
  EXPECT_FALSE(Verifier::Parse("PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"));  // hash
  EXPECT_FALSE(Verifier::Parse("PeterNeumann+c74f20a3+AhpcvQcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"));  // type
  EXPECT_FALSE(Verifier::Parse("PeterNeumann"));
  EXPECT_FALSE(Signer::Parse(kVerifierKey));
}

TEST(Checkpoint, FormatsAndParsesTlogCheckpoint) {
  Checkpoint cp{"example.com/log", 1234, LeafHash("x")};
  std::string text = cp.Text();
  EXPECT_EQ(text, "example.com/log\n1234\n" + Base64(cp.root) + "\n");
  auto parsed = *Checkpoint::Parse(text);
  EXPECT_EQ(parsed.origin, cp.origin);
  EXPECT_EQ(parsed.size, 1234u);
  EXPECT_EQ(parsed.root, cp.root);
  EXPECT_TRUE(Checkpoint::Parse(text + "extension line\n"));
  EXPECT_FALSE(Checkpoint::Parse("example.com/log\n01\n" + Base64(cp.root) + "\n"));
  EXPECT_FALSE(Checkpoint::Parse("example.com/log\n-1\n" + Base64(cp.root) + "\n"));
  EXPECT_FALSE(Checkpoint::Parse("example.com/log\n1\nshort\n"));
  EXPECT_FALSE(Checkpoint::Parse("\n1\n" + Base64(cp.root) + "\n"));
}

}  // namespace
}  // namespace flopline::ledger
