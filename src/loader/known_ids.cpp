#include "funnelhouse/loader/known_ids.hpp"

#include <algorithm>

namespace funnelhouse::loader {

KnownIds::KnownIds(std::size_t capacity) : capacity_(capacity) {}

// An anonymous id ('a'), a user id ('u'), or a link ('l': the anonymous id's
// length, then both ids, so that no two links share a key).
std::string& KnownIds::key_of(char kind, const std::string& first, const std::string* second) {
    key_.clear();
    key_ += kind;
    if (second) {
        key_ += std::to_string(first.size());
        key_ += ':';
    }
    key_ += first;
    if (second) key_ += *second;
    return key_;
}

bool KnownIds::contains(const std::string& key) {
    if (newer_.count(key)) return true;
    const auto old = older_.find(key);
    if (old == older_.end()) return false;
    auto moved = older_.extract(old);
    insert(moved.value());
    return true;
}

void KnownIds::insert(const std::string& key) {
    if (capacity_ == 0) return;
    if (newer_.size() >= std::max<std::size_t>(1, capacity_ / 2)) {
        older_ = std::move(newer_);
        newer_.clear();
    }
    newer_.insert(key);
}

bool KnownIds::knows(const common::Event& event) {
    if (capacity_ == 0 || event.event_type == "alias") return false;
    std::lock_guard lock(mutex_);
    const auto& anonymous = event.anonymous_id;
    const auto& user = event.user_id;
    if (anonymous && user) return contains(key_of('l', *anonymous, &*user));
    if (anonymous) return contains(key_of('a', *anonymous));
    if (user) return contains(key_of('u', *user));
    return false;
}

void KnownIds::remember(const std::vector<const common::Event*>& events,
                        const std::vector<Fate>& fates, std::int64_t generation) {
    if (capacity_ == 0) return;
    std::lock_guard lock(mutex_);
    if (generation != generation_) return;
    for (std::size_t i = 0; i < events.size() && i < fates.size(); ++i) {
        if (fates[i] != Fate::inserted && fates[i] != Fate::duplicate) continue;
        const auto& event = *events[i];
        if (event.anonymous_id) insert(key_of('a', *event.anonymous_id));
        if (event.user_id) insert(key_of('u', *event.user_id));
        if (fates[i] == Fate::inserted && event.event_type != "alias" && event.anonymous_id &&
            event.user_id)
            insert(key_of('l', *event.anonymous_id, &*event.user_id));
    }
}

void KnownIds::observe_generation(std::int64_t generation) {
    std::lock_guard lock(mutex_);
    // A lane that read the generation before another one read a newer one
    // may report it later: an older generation says nothing new.
    if (generation <= generation_ && generation_ >= 0) return;
    generation_ = generation;
    newer_.clear();
    older_.clear();
}

std::int64_t KnownIds::generation() const {
    std::lock_guard lock(mutex_);
    return generation_;
}

std::size_t KnownIds::size() const {
    std::lock_guard lock(mutex_);
    return newer_.size() + older_.size();
}

}  // namespace funnelhouse::loader
