// The Merkle tree against RFC 9162's definitions and Certificate Transparency's published vectors.
#include "flopline/ledger/merkle.h"

#include <gtest/gtest.h>

#include <bit>
#include <string>
#include <vector>

namespace flopline::ledger {
namespace {

std::string Unhex(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i < hex.size(); i += 2) out += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
  return out;
}
Hash H(const std::string& hex) { return *HashFromHex(hex); }

// The Certificate Transparency reference leaves and the root after each (RFC 6962 test data, also
// used by RFC 9162 implementations).
const std::vector<std::string> kLeaves = {
    "", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"};
const std::vector<std::string> kRoots = {
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"};

MemoryTree ReferenceTree() {
  MemoryTree tree;
  for (const std::string& leaf : kLeaves) tree.Append(LeafHash(Unhex(leaf)));
  return tree;
}

// RFC 9162 section 2.1.1-2.1.4, transcribed as recursion over the leaf hashes: MTH, PATH, SUBPROOF.
uint64_t K(uint64_t n) {
  uint64_t k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}
Hash Mth(const std::vector<Hash>& d, uint64_t lo, uint64_t hi) {
  if (hi - lo == 1) return d[lo];
  uint64_t k = K(hi - lo);
  return NodeHash(Mth(d, lo, lo + k), Mth(d, lo + k, hi));
}
std::vector<Hash> Path(const std::vector<Hash>& d, uint64_t m, uint64_t lo, uint64_t hi) {
  if (hi - lo == 1) return {};
  uint64_t k = K(hi - lo);
  std::vector<Hash> p;
  if (m < k) {
    p = Path(d, m, lo, lo + k);
    p.push_back(Mth(d, lo + k, hi));
  } else {
    p = Path(d, m - k, lo + k, hi);
    p.push_back(Mth(d, lo, lo + k));
  }
  return p;
}
std::vector<Hash> Subproof(const std::vector<Hash>& d, uint64_t m, uint64_t lo, uint64_t hi, bool b) {
  uint64_t n = hi - lo;
  if (m == n) return b ? std::vector<Hash>{} : std::vector<Hash>{Mth(d, lo, hi)};
  uint64_t k = K(n);
  std::vector<Hash> p;
  if (m <= k) {
    p = Subproof(d, m, lo, lo + k, b);
    p.push_back(Mth(d, lo + k, hi));
  } else {
    p = Subproof(d, m - k, lo + k, hi, false);
    p.push_back(Mth(d, lo, lo + k));
  }
  return p;
}

TEST(Merkle, MatchesTheCertificateTransparencyRoots) {
  MemoryTree tree = ReferenceTree();
  for (uint64_t n = 0; n <= 8; ++n) {
    EXPECT_EQ(Hex(*RootAt(tree, n)), kRoots[n]) << "size " << n;
  }
  EXPECT_EQ(EmptyRoot(), H(kRoots[0]));
}

TEST(Merkle, MatchesThePublishedProofs) {
  MemoryTree tree = ReferenceTree();
  auto p0 = *InclusionProof(tree, 0, 8);
  EXPECT_EQ(p0, (std::vector<Hash>{H("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
                                   H("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                                   H("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4")}));
  auto p5 = *InclusionProof(tree, 5, 8);
  EXPECT_EQ(p5, (std::vector<Hash>{H("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
                                   H("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
                                   H("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7")}));
  auto c28 = *ConsistencyProof(tree, 2, 8);
  EXPECT_EQ(c28, (std::vector<Hash>{H("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                                    H("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4")}));
  EXPECT_TRUE(VerifyConsistency(2, 8, H(kRoots[2]), H(kRoots[8]), c28));
}

// Every index and every pair of sizes up to 70 leaves: the stored-node proofs equal the RFC's
// recursive definitions, and the RFC's verification algorithms accept them.
TEST(Merkle, EveryProofUpTo70LeavesIsTheRfcsAndVerifies) {
  MemoryTree tree;
  std::vector<Hash> d;
  for (int i = 0; i < 70; ++i) {
    d.push_back(LeafHash("entry " + std::to_string(i)));
    tree.Append(d.back());
    uint64_t n = d.size();
    Hash root = Mth(d, 0, n);
    ASSERT_EQ(*tree.Root(), root) << n;
    for (uint64_t m = 0; m < n; ++m) {
      auto proof = *InclusionProof(tree, m, n);
      ASSERT_EQ(proof, Path(d, m, 0, n)) << m << " in " << n;
      ASSERT_TRUE(VerifyInclusion(d[m], m, n, proof, root)) << m << " in " << n;
    }
    for (uint64_t m = 1; m <= n; ++m) {
      auto proof = *ConsistencyProof(tree, m, n);
      ASSERT_EQ(proof, Subproof(d, m, 0, n, true)) << m << " to " << n;
      ASSERT_TRUE(VerifyConsistency(m, n, Mth(d, 0, m), root, proof)) << m << " to " << n;
    }
  }
}

TEST(Merkle, AnAlteredProofFails) {
  MemoryTree tree;
  std::vector<Hash> d;
  for (int i = 0; i < 37; ++i) {
    d.push_back(LeafHash("leaf " + std::to_string(i)));
    tree.Append(d.back());
  }
  Hash root = *tree.Root();
  for (uint64_t m = 0; m < 37; ++m) {
    auto proof = *InclusionProof(tree, m, 37);
    EXPECT_FALSE(VerifyInclusion(d[m], m + 1, 37, proof, root));
    // A proof binds the size only through its shape (37 and 38 share it; the signed checkpoint
    // carries the size): a size of another shape fails.
    if (m < 17) {
      EXPECT_FALSE(VerifyInclusion(d[m], m, 17, proof, root));
    }
    EXPECT_FALSE(VerifyInclusion(LeafHash("forged"), m, 37, proof, root));
    for (size_t i = 0; i < proof.size(); ++i) {
      auto bad = proof;
      bad[i][i % 32] ^= 1;
      EXPECT_FALSE(VerifyInclusion(d[m], m, 37, bad, root)) << m << " hash " << i;
    }
    auto longer = proof;
    longer.push_back(root);
    EXPECT_FALSE(VerifyInclusion(d[m], m, 37, longer, root));
  }
  for (uint64_t m = 1; m < 37; ++m) {
    auto proof = *ConsistencyProof(tree, m, 37);
    Hash old_root = *RootAt(tree, m);
    for (size_t i = 0; i < proof.size(); ++i) {
      auto bad = proof;
      bad[i][0] ^= 0x80;
      EXPECT_FALSE(VerifyConsistency(m, 37, old_root, root, bad)) << m << " hash " << i;
    }
    EXPECT_FALSE(VerifyConsistency(m, 37, LeafHash("forged"), root, proof));
    if (!proof.empty()) {
      EXPECT_FALSE(VerifyConsistency(m, 37, old_root, root, std::span(proof).subspan(1)));
    }
  }
  EXPECT_FALSE(VerifyConsistency(0, 37, EmptyRoot(), root, {}));
  EXPECT_FALSE(VerifyConsistency(5, 4, root, root, {}));
}

TEST(Merkle, TheFrontierComputesTheStoredNodes) {
  MemoryTree tree;
  Frontier frontier = *Frontier::Load(tree, 0);
  for (int i = 0; i < 100; ++i) {
    Hash leaf = LeafHash(std::to_string(i));
    std::vector<std::pair<NodeId, Hash>> reported;
    frontier.Append(leaf, [&](NodeId id, const Hash& h) { reported.emplace_back(id, h); });
    tree.Append(leaf);
    // The leaf itself plus one node per level the new leaf completes.
    ASSERT_EQ(reported.size(), 1u + static_cast<size_t>(std::countr_one(static_cast<unsigned>(i))));
    for (const auto& [id, h] : reported) EXPECT_EQ(*tree.Node(id), h);
    EXPECT_EQ(frontier.Root(), *tree.Root());
    // A frontier loaded from the stored nodes continues exactly where this one is.
    Frontier reloaded = *Frontier::Load(tree, tree.size());
    EXPECT_EQ(reloaded.Root(), frontier.Root());
  }
}

TEST(Merkle, ProofsOutsideTheTreeAreErrors) {
  MemoryTree tree = ReferenceTree();
  EXPECT_FALSE(InclusionProof(tree, 8, 8));
  EXPECT_FALSE(ConsistencyProof(tree, 0, 8));
  EXPECT_FALSE(ConsistencyProof(tree, 9, 8));
  EXPECT_FALSE(RootAt(tree, 9));
  EXPECT_TRUE(ConsistencyProof(tree, 8, 8)->empty());
}

TEST(Hash, Base64IsCanonical) {
  Hash h = LeafHash("x");
  EXPECT_EQ(HashFromBase64(Base64(h)), h);
  EXPECT_FALSE(HashFromBase64("not base64"));
  EXPECT_FALSE(HashFromBase64(Base64(std::string(31, 'a'))));
  EXPECT_EQ(Base64(std::string_view("hello")), "aGVsbG8=");
  EXPECT_FALSE(FromBase64("aGVsbG9="));  // non-zero padding bits: a second spelling of "hello"
}

}  // namespace
}  // namespace flopline::ledger
