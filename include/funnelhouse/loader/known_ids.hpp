#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_set>
#include <vector>

#include "funnelhouse/common/event.hpp"
#include "funnelhouse/loader/writer.hpp"

namespace funnelhouse::loader {

// The ids the loader has seen committed to identity_map, and the links
// (anonymous id, user id) it has seen committed to identity_links. A new row
// whose ids are all known needs no identity work: the writer does not stage
// it for the identity steps (see write_rows).
//
// Bounded: at most `capacity` entries (2 when it is 1), kept in two halves;
// when the newer half is full the older one is dropped, and an entry found
// in the older half moves to the newer one, so ids in use stay. Whatever removes rows of
// identity_map or identity_links moves the database's identity_generation
// on (migrations/0009); a generation other than the one the entries were
// remembered under drops them all. Safe to use from several threads (the
// loader's lanes).
class KnownIds {
  public:
    explicit KnownIds(std::size_t capacity);  // 0: remembers nothing

    // Whether the identity steps have nothing to do for `event` stored as a
    // new row: its ids, or with both, their link, are known. Aliases and
    // events without either id are never known.
    bool knows(const common::Event& event);

    // After a commit: what the batch stored. Every id of an event that got a
    // row or was merged into one is in identity_map; the link of an event
    // that got a row (not an alias) is in identity_links. `generation` is
    // the one the batch read last before its commit: when another batch has
    // observed a newer one since, the rows may be gone, and nothing is kept.
    void remember(const std::vector<const common::Event*>& events, const std::vector<Fate>& fates,
                  std::int64_t generation);

    // The database's identity generation, read in a batch's transaction: a
    // newer one drops every entry; an older one (read by a lane before
    // another lane read the newer) changes nothing. The generation only
    // grows, unless the database is restored from a backup: then restart
    // the servers.
    void observe_generation(std::int64_t generation);
    std::int64_t generation() const;

    std::size_t size() const;

  private:
    bool contains(const std::string& key);
    void insert(const std::string& key);
    std::string& key_of(char kind, const std::string& first, const std::string* second = nullptr);

    std::size_t capacity_;
    mutable std::mutex mutex_;  // guards everything below
    std::int64_t generation_ = -1;
    std::unordered_set<std::string> newer_;
    std::unordered_set<std::string> older_;
    std::string key_;  // reused
};

}  // namespace funnelhouse::loader
