// File: flopline/ledger/merkle.h
//
// The RFC 9162 Merkle tree over a log of n leaves, computed from stored perfect subtrees.
//
// A node (level, index) is the hash of the perfect subtree over leaves
// [index * 2^level, (index + 1) * 2^level); level 0 is the leaf hashes. A log stores exactly the
// nodes whose subtree is complete, so every hash a proof needs for any tree size <= n is either a
// stored node or a right-edge combination of O(log n) of them: proofs cost O(log n) reads and at
// most O(log n) hash computations, whatever the size.
//
// Proofs are those of RFC 9162 section 2.1.3 (inclusion) and 2.1.4 (consistency), ordered as there
// (from the leaf up); the verifiers are the RFC's algorithms, written from its text so that they
// check our generator rather than share its recursion.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "flopline/core/result.h"
#include "flopline/ledger/hash.h"

namespace flopline::ledger {

struct NodeId {
  int level = 0;
  std::uint64_t index = 0;
  auto operator<=>(const NodeId&) const = default;
};

// Where proofs read node hashes from: memory, SQLite, PostgreSQL. Nodes() may batch.
class NodeReader {
 public:
  virtual ~NodeReader() = default;
  virtual core::Result<Hash> Node(NodeId id) const = 0;
  virtual core::Result<std::vector<Hash>> Nodes(std::span<const NodeId> ids) const;
};

// The root of the first `size` leaves.
core::Result<Hash> RootAt(const NodeReader& reader, std::uint64_t size);
// The audit path of leaf `index` in the tree of `size` leaves.
core::Result<std::vector<Hash>> InclusionProof(const NodeReader& reader, std::uint64_t index,
                                               std::uint64_t size);
// The consistency proof between tree sizes 0 < from <= to.
core::Result<std::vector<Hash>> ConsistencyProof(const NodeReader& reader, std::uint64_t from,
                                                 std::uint64_t to);

bool VerifyInclusion(const Hash& leaf_hash, std::uint64_t index, std::uint64_t size,
                     std::span<const Hash> proof, const Hash& root);
bool VerifyConsistency(std::uint64_t from, std::uint64_t to, const Hash& from_root,
                       const Hash& to_root, std::span<const Hash> proof);

// The right edge of a tree: the perfect subtrees its leaves decompose into, largest first. Appending
// a leaf merges equal-sized ones and reports each new stored node, which is how a log computes the
// nodes of a batch from O(log n) reads.
class Frontier {
 public:
  static core::Result<Frontier> Load(const NodeReader& reader, std::uint64_t size);

  // Adds a leaf; `on_node` receives the leaf's node (level 0) and each completed parent.
  void Append(const Hash& leaf_hash, const std::function<void(NodeId, const Hash&)>& on_node);
  Hash Root() const;
  std::uint64_t size() const { return size_; }

 private:
  struct Entry {
    NodeId id;
    Hash hash;
  };
  std::vector<Entry> entries_;
  std::uint64_t size_ = 0;
};

// Every node of a log in memory: for tests, benchmarks and offline verification of an export.
class MemoryTree : public NodeReader {
 public:
  void Append(const Hash& leaf_hash);
  std::uint64_t size() const { return levels_.empty() ? 0 : levels_[0].size(); }
  core::Result<Hash> Node(NodeId id) const override;
  core::Result<Hash> Root() const { return RootAt(*this, size()); }

 private:
  std::vector<std::vector<Hash>> levels_;
};

}  // namespace flopline::ledger
