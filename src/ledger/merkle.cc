#include "flopline/ledger/merkle.h"

#include <algorithm>
#include <bit>

#include <fmt/format.h>

namespace flopline::ledger {
namespace {

using core::Result;

// The largest power of two strictly below n (n >= 2): RFC 9162's split point k.
std::uint64_t SplitPoint(std::uint64_t n) { return std::bit_floor(n - 1); }

// A range [lo, hi) whose hash a proof needs, as the perfect subtrees it decomposes into.
struct Range {
  std::uint64_t lo, hi;
};

// Appends the perfect subtrees covering [lo, hi), largest first. Every range a proof asks for
// starts at a multiple of its largest power of two, so the greedy split is exact.
void Decompose(Range range, std::vector<NodeId>& out) {
  std::uint64_t lo = range.lo;
  while (lo < range.hi) {
    int level = static_cast<int>(std::bit_width(range.hi - lo)) - 1;
    out.push_back({level, lo >> level});
    lo += std::uint64_t{1} << level;
  }
}

// Reads the nodes of every range in one batch and folds each range's nodes right to left.
Result<std::vector<Hash>> RangeHashes(const NodeReader& reader, const std::vector<Range>& ranges) {
  std::vector<NodeId> ids;
  std::vector<size_t> starts;
  for (const Range& r : ranges) {
    starts.push_back(ids.size());
    Decompose(r, ids);
  }
  starts.push_back(ids.size());
  FL_ASSIGN_OR_RETURN(std::vector<Hash> nodes, reader.Nodes(ids));
  std::vector<Hash> out;
  out.reserve(ranges.size());
  for (size_t r = 0; r < ranges.size(); ++r) {
    Hash acc = nodes[starts[r + 1] - 1];
    for (size_t i = starts[r + 1] - 1; i > starts[r]; --i) acc = NodeHash(nodes[i - 1], acc);
    out.push_back(acc);
  }
  return out;
}

core::Error OutOfRange(std::string message) {
  return core::Error{core::Code::kInvalidArgument, std::move(message), std::nullopt, {}};
}

}  // namespace

Result<std::vector<Hash>> NodeReader::Nodes(std::span<const NodeId> ids) const {
  std::vector<Hash> out;
  out.reserve(ids.size());
  for (NodeId id : ids) {
    FL_ASSIGN_OR_RETURN(Hash h, Node(id));
    out.push_back(h);
  }
  return out;
}

Result<Hash> RootAt(const NodeReader& reader, std::uint64_t size) {
  if (size == 0) return EmptyRoot();
  FL_ASSIGN_OR_RETURN(std::vector<Hash> h, RangeHashes(reader, {{0, size}}));
  return h[0];
}

Result<std::vector<Hash>> InclusionProof(const NodeReader& reader, std::uint64_t index,
                                         std::uint64_t size) {
  if (index >= size) {
    return tl::unexpected(
        OutOfRange(fmt::format("index {} is not in a tree of {} entries", index, size)));
  }
  // PATH(m, D[n]) of RFC 9162 section 2.1.3.1, walked from the root; reversed at the end.
  std::vector<Range> ranges;
  std::uint64_t lo = 0, hi = size;
  while (hi - lo > 1) {
    std::uint64_t k = SplitPoint(hi - lo);
    if (index < lo + k) {
      ranges.push_back({lo + k, hi});
      hi = lo + k;
    } else {
      ranges.push_back({lo, lo + k});
      lo += k;
    }
  }
  std::reverse(ranges.begin(), ranges.end());
  return RangeHashes(reader, ranges);
}

Result<std::vector<Hash>> ConsistencyProof(const NodeReader& reader, std::uint64_t from,
                                           std::uint64_t to) {
  if (from == 0 || from > to) {
    return tl::unexpected(OutOfRange(
        fmt::format("no consistency proof from {} to {}: need 0 < from <= to", from, to)));
  }
  // SUBPROOF(m, D[n], b) of RFC 9162 section 2.1.4.1; b stays true while lo == 0.
  std::vector<Range> ranges;
  std::uint64_t lo = 0, hi = to;
  while (from != hi) {
    std::uint64_t k = SplitPoint(hi - lo);
    if (from <= lo + k) {
      ranges.push_back({lo + k, hi});
      hi = lo + k;
    } else {
      ranges.push_back({lo, lo + k});
      lo += k;
    }
  }
  if (lo != 0) ranges.push_back({lo, hi});
  std::reverse(ranges.begin(), ranges.end());
  return RangeHashes(reader, ranges);
}

// RFC 9162 section 2.1.3.2, step by step.
bool VerifyInclusion(const Hash& leaf_hash, std::uint64_t index, std::uint64_t size,
                     std::span<const Hash> proof, const Hash& root) {
  if (index >= size) return false;
  std::uint64_t fn = index, sn = size - 1;
  Hash r = leaf_hash;
  for (const Hash& p : proof) {
    if (sn == 0) return false;
    if ((fn & 1) != 0 || fn == sn) {
      r = NodeHash(p, r);
      if ((fn & 1) == 0) {
        while ((fn & 1) == 0 && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      r = NodeHash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn == 0 && r == root;
}

// RFC 9162 section 2.1.4.2, step by step.
bool VerifyConsistency(std::uint64_t from, std::uint64_t to, const Hash& from_root,
                       const Hash& to_root, std::span<const Hash> proof) {
  if (from == 0 || from > to) return false;
  if (from == to) return proof.empty() && from_root == to_root;
  if (proof.empty()) return false;
  std::vector<Hash> path;
  if (std::has_single_bit(from)) path.push_back(from_root);
  path.insert(path.end(), proof.begin(), proof.end());
  std::uint64_t fn = from - 1, sn = to - 1;
  while ((fn & 1) != 0) {
    fn >>= 1;
    sn >>= 1;
  }
  Hash fr = path[0], sr = path[0];
  for (size_t i = 1; i < path.size(); ++i) {
    const Hash& c = path[i];
    if (sn == 0) return false;
    if ((fn & 1) != 0 || fn == sn) {
      fr = NodeHash(c, fr);
      sr = NodeHash(c, sr);
      while ((fn & 1) == 0 && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      sr = NodeHash(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return fr == from_root && sr == to_root && sn == 0;
}

Result<Frontier> Frontier::Load(const NodeReader& reader, std::uint64_t size) {
  Frontier f;
  f.size_ = size;
  std::vector<NodeId> ids;
  Decompose({0, size}, ids);
  FL_ASSIGN_OR_RETURN(std::vector<Hash> hashes, reader.Nodes(ids));
  for (size_t i = 0; i < ids.size(); ++i) f.entries_.push_back({ids[i], hashes[i]});
  return f;
}

void Frontier::Append(const Hash& leaf_hash,
                      const std::function<void(NodeId, const Hash&)>& on_node) {
  Entry entry{{0, size_}, leaf_hash};
  on_node(entry.id, entry.hash);
  while (!entries_.empty() && entries_.back().id.level == entry.id.level) {
    const Entry& left = entries_.back();
    entry = {{entry.id.level + 1, left.id.index >> 1}, NodeHash(left.hash, entry.hash)};
    entries_.pop_back();
    on_node(entry.id, entry.hash);
  }
  entries_.push_back(entry);
  ++size_;
}

Hash Frontier::Root() const {
  if (entries_.empty()) return EmptyRoot();
  Hash acc = entries_.back().hash;
  for (size_t i = entries_.size() - 1; i > 0; --i) acc = NodeHash(entries_[i - 1].hash, acc);
  return acc;
}

void MemoryTree::Append(const Hash& leaf_hash) {
  if (levels_.empty()) levels_.emplace_back();
  levels_[0].push_back(leaf_hash);
  for (size_t level = 0; levels_[level].size() % 2 == 0; ++level) {
    if (level + 1 == levels_.size()) levels_.emplace_back();
    const std::vector<Hash>& below = levels_[level];
    levels_[level + 1].push_back(NodeHash(below[below.size() - 2], below.back()));
  }
}

Result<Hash> MemoryTree::Node(NodeId id) const {
  if (id.level < 0 || static_cast<size_t>(id.level) >= levels_.size() ||
      id.index >= levels_[static_cast<size_t>(id.level)].size()) {
    return core::NotFound(fmt::format("no node at level {} index {}", id.level, id.index));
  }
  return levels_[static_cast<size_t>(id.level)][id.index];
}

}  // namespace flopline::ledger
