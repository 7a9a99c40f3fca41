// A valijson adapter over a simdjson DOM, so that a message is validated
// where it was parsed, without building a second tree. Objects read as an
// object of nlohmann::json reads (what contracts were always validated on):
// members in the byte order of their keys, and of equal keys only the last.
// So the errors, their order and the outcome do not depend on the parser.
#pragma once

#include <simdjson.h>

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/internal/adapter.hpp>
#include <valijson/internal/basic_adapter.hpp>
#include <valijson/internal/frozen_value.hpp>
#include <vector>

namespace funnelhouse::schema {

class SimdjsonAdapter;
using SimdjsonMember = std::pair<std::string, SimdjsonAdapter>;

// An iterator over a list the adapter made (an array's elements, an
// object's members in order), giving valijson's value for each item.
template <typename Item, typename Value>
class ListIterator {
  public:
    using iterator_category = std::bidirectional_iterator_tag;
    using value_type = Value;
    using difference_type = Value;
    using pointer = Value*;
    using reference = Value&;

    explicit ListIterator(const Item* at) : at_(at) {}
    Value operator*() const;
    valijson::adapters::DerefProxy<Value> operator->() const {
        return valijson::adapters::DerefProxy<Value>(**this);
    }
    bool operator==(const ListIterator& other) const { return at_ == other.at_; }
    bool operator!=(const ListIterator& other) const { return at_ != other.at_; }
    const ListIterator& operator++() {
        ++at_;
        return *this;
    }
    ListIterator operator++(int) {
        auto before = *this;
        ++at_;
        return before;
    }
    const ListIterator& operator--() {
        --at_;
        return *this;
    }
    void advance(std::ptrdiff_t n) { at_ += n; }

  private:
    const Item* at_;
};

namespace simdjson_detail {

using simdjson::dom::element;

// An empty array and an empty object, for default-constructed adapters.
inline element empty(bool array) {
    static const auto* parser = [] {
        auto* p = new simdjson::dom::parser;
        (void)p->parse(std::string_view{"[[],{}]"});
        return p;
    }();
    return parser->doc.root().at(array ? 0 : 1);
}

struct Member {
    std::string_view key;
    element value;
};
using Members = std::vector<Member>;

// The members sorted by key, keeping the last of equal keys.
inline std::shared_ptr<const Members> ordered_members(simdjson::dom::object object) {
    auto members = std::make_shared<Members>();
    members->reserve(object.size());
    for (const auto field : object) members->push_back({field.key, field.value});
    std::stable_sort(members->begin(), members->end(),
                     [](const Member& a, const Member& b) { return a.key < b.key; });
    // Of a run of equal keys the stable sort left the last one sent last.
    auto out = members->begin();
    for (auto it = members->begin(); it != members->end(); ++it) {
        const auto next = std::next(it);
        if (next != members->end() && next->key == it->key) continue;
        *out++ = *it;
    }
    members->erase(out, members->end());
    return members;
}

}  // namespace simdjson_detail

using SimdjsonArrayIterator = ListIterator<simdjson::dom::element, SimdjsonAdapter>;
using SimdjsonMemberIterator = ListIterator<simdjson_detail::Member, SimdjsonMember>;

class SimdjsonArray {
  public:
    using const_iterator = SimdjsonArrayIterator;
    using iterator = SimdjsonArrayIterator;

    SimdjsonArray() : SimdjsonArray(simdjson_detail::empty(true).get_array().value_unsafe()) {}
    // The elements are listed once: valijson walks arrays both ways.
    explicit SimdjsonArray(simdjson::dom::array array)
        : items_(
              std::make_shared<std::vector<simdjson::dom::element>>(array.begin(), array.end())) {}

    SimdjsonArrayIterator begin() const;
    SimdjsonArrayIterator end() const;
    std::size_t size() const { return items_->size(); }

  private:
    std::shared_ptr<const std::vector<simdjson::dom::element>> items_;
};

class SimdjsonObject {
  public:
    using const_iterator = SimdjsonMemberIterator;
    using iterator = SimdjsonMemberIterator;

    SimdjsonObject() : SimdjsonObject(simdjson_detail::empty(false).get_object().value_unsafe()) {}
    explicit SimdjsonObject(simdjson::dom::object object)
        : members_(simdjson_detail::ordered_members(object)) {}

    SimdjsonMemberIterator begin() const;
    SimdjsonMemberIterator end() const;
    SimdjsonMemberIterator find(const std::string& name) const;
    std::size_t size() const { return members_->size(); }

  private:
    std::shared_ptr<const simdjson_detail::Members> members_;
};

// A copy that outlives the document: through nlohmann::json, which the
// schemas themselves are read with.
class SimdjsonFrozenValue : public valijson::adapters::FrozenValue {
  public:
    explicit SimdjsonFrozenValue(nlohmann::json value) : value_(std::move(value)) {}
    FrozenValue* clone() const override { return new SimdjsonFrozenValue(value_); }
    bool equalTo(const valijson::adapters::Adapter& other, bool strict) const override {
        return valijson::adapters::NlohmannJsonAdapter(value_).equalTo(other, strict);
    }

  private:
    nlohmann::json value_;
};

class SimdjsonValue {
  public:
    using element = simdjson::dom::element;
    using type = simdjson::dom::element_type;

    SimdjsonValue() : value_(simdjson_detail::empty(false)) {}
    explicit SimdjsonValue(element value) : value_(value) {}

    valijson::adapters::FrozenValue* freeze() const {
        return new SimdjsonFrozenValue(
            nlohmann::json::parse(simdjson::minify(value_), nullptr, false));
    }
    std::optional<SimdjsonArray> getArrayOptional() const {
        if (!isArray()) return {};
        return SimdjsonArray(value_.get_array().value_unsafe());
    }
    bool getArraySize(std::size_t& result) const {
        if (!isArray()) return false;
        result = value_.get_array().value_unsafe().size();
        return true;
    }
    bool getBool(bool& result) const {
        if (!isBool()) return false;
        result = value_.get_bool().value_unsafe();
        return true;
    }
    bool getDouble(double& result) const {
        if (!isDouble()) return false;
        result = value_.get_double().value_unsafe();
        return true;
    }
    // As nlohmann::json: an unsigned integer past INT64_MAX wraps.
    bool getInteger(std::int64_t& result) const {
        if (value_.type() == type::INT64)
            result = value_.get_int64().value_unsafe();
        else if (value_.type() == type::UINT64)
            result = static_cast<std::int64_t>(value_.get_uint64().value_unsafe());
        else
            return false;
        return true;
    }
    std::optional<SimdjsonObject> getObjectOptional() const {
        if (!isObject()) return {};
        return SimdjsonObject(value_.get_object().value_unsafe());
    }
    bool getObjectSize(std::size_t& result) const {
        if (!isObject()) return false;
        result = SimdjsonObject(value_.get_object().value_unsafe()).size();
        return true;
    }
    bool getString(std::string& result) const {
        if (!isString()) return false;
        result = std::string{value_.get_string().value_unsafe()};
        return true;
    }
    static bool hasStrictTypes() { return true; }
    bool isArray() const { return value_.type() == type::ARRAY; }
    bool isBool() const { return value_.type() == type::BOOL; }
    bool isDouble() const { return value_.type() == type::DOUBLE; }
    bool isInteger() const { return value_.type() == type::INT64 || value_.type() == type::UINT64; }
    bool isNull() const { return value_.type() == type::NULL_VALUE; }
    bool isNumber() const { return isInteger() || isDouble(); }
    bool isObject() const { return value_.type() == type::OBJECT; }
    bool isString() const { return value_.type() == type::STRING; }

  private:
    element value_;
};

class SimdjsonAdapter
    : public valijson::adapters::BasicAdapter<SimdjsonAdapter, SimdjsonArray, SimdjsonMember,
                                              SimdjsonObject, SimdjsonValue> {
  public:
    SimdjsonAdapter() : BasicAdapter() {}
    explicit SimdjsonAdapter(simdjson::dom::element value) : BasicAdapter(SimdjsonValue{value}) {}
};

template <>
inline SimdjsonAdapter SimdjsonArrayIterator::operator*() const {
    return SimdjsonAdapter(*at_);
}
template <>
inline SimdjsonMember SimdjsonMemberIterator::operator*() const {
    return SimdjsonMember(std::string{at_->key}, SimdjsonAdapter(at_->value));
}

inline SimdjsonArrayIterator SimdjsonArray::begin() const {
    return SimdjsonArrayIterator(items_->data());
}
inline SimdjsonArrayIterator SimdjsonArray::end() const {
    return SimdjsonArrayIterator(items_->data() + items_->size());
}
inline SimdjsonMemberIterator SimdjsonObject::begin() const {
    return SimdjsonMemberIterator(members_->data());
}
inline SimdjsonMemberIterator SimdjsonObject::end() const {
    return SimdjsonMemberIterator(members_->data() + members_->size());
}
inline SimdjsonMemberIterator SimdjsonObject::find(const std::string& name) const {
    const auto it = std::lower_bound(members_->begin(), members_->end(), std::string_view{name},
                                     [](const simdjson_detail::Member& member,
                                        std::string_view key) { return member.key < key; });
    if (it == members_->end() || it->key != name) return end();
    return SimdjsonMemberIterator(&*it);
}

}  // namespace funnelhouse::schema

namespace valijson::adapters {
template <>
struct AdapterTraits<funnelhouse::schema::SimdjsonAdapter> {
    using DocumentType = simdjson::dom::element;
    static std::string adapterName() { return "SimdjsonAdapter"; }
};
}  // namespace valijson::adapters
