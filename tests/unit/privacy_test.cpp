#include "funnelhouse/common/utf8.hpp"
#include "funnelhouse/ingest/privacy.hpp"

#include <gtest/gtest.h>

#include "funnelhouse/common/base64.hpp"
#include "funnelhouse/common/sha256.hpp"
#include "funnelhouse/ingest/json_spans.hpp"
#include "funnelhouse/ingest/message.hpp"
#include "funnelhouse/ingest/request.hpp"
#include "test_contracts.hpp"

using namespace funnelhouse;
using nlohmann::json;

TEST(AddressTruncation, KeepsTheNetworkPartOnly) {
    EXPECT_EQ(ingest::truncate_address("203.0.113.77", 24, 48), "203.0.113.0");
    EXPECT_EQ(ingest::truncate_address("203.0.113.77", 32, 48), "203.0.113.77");
    EXPECT_EQ(ingest::truncate_address("203.0.113.77", 20, 48), "203.0.112.0");
    EXPECT_EQ(ingest::truncate_address("2001:db8:abcd:12:1:2:3:4", 24, 48), "2001:db8:abcd::");
    EXPECT_EQ(ingest::truncate_address("2001:db8:abcd:12:1:2:3:4", 24, 64),
              "2001:db8:abcd:12::");
    // A v4 client on a dual-stack socket is still a v4 client.
    EXPECT_EQ(ingest::truncate_address("::ffff:198.51.100.200", 24, 48), "198.51.100.0");
    EXPECT_FALSE(ingest::truncate_address("not an address", 24, 48));
    EXPECT_FALSE(ingest::truncate_address("", 24, 48));
    EXPECT_FALSE(ingest::truncate_address("203.0.113.77/24", 24, 48));
}

TEST(Consent, ReadsSegmentsCategoryPreferencesAndTheSimpleFlag) {
    const std::vector<std::string> categories{"analytics", "C0002"};
    auto consent = [&](const char* context) {
        return ingest::analytics_consent(context, categories);
    };
    using ingest::Consent;
    EXPECT_EQ(consent(R"({})"), Consent::unstated);
    EXPECT_EQ(consent(R"({"consent":null})"), Consent::unstated);
    EXPECT_EQ(consent(R"({"consent":true})"), Consent::granted);
    EXPECT_EQ(consent(R"({"consent":false})"), Consent::denied);
    EXPECT_EQ(consent(R"({"consent":{"categoryPreferences":{"Analytics":true,"Ads":false}}})"),
              Consent::granted);
    EXPECT_EQ(consent(R"({"consent":{"categoryPreferences":{"c0002":true}}})"), Consent::granted);
    EXPECT_EQ(consent(R"({"consent":{"categoryPreferences":{"Analytics":false,"Ads":true}}})"),
              Consent::denied);
    // Preferences that do not mention analytics do not grant it.
    EXPECT_EQ(consent(R"({"consent":{"categoryPreferences":{"Ads":true}}})"), Consent::denied);
    EXPECT_EQ(consent(R"({"consent":{"categoryPreferences":{"Analytics":"yes"}}})"),
              Consent::denied);
    EXPECT_EQ(consent(R"({"consent":"maybe"})"), Consent::unstated);
}

TEST(KeyedHash, MatchesTheRfc4231Vectors) {
    EXPECT_EQ(common::hmac_sha256_hex("Jefe", "what do ya want for nothing?"),
              "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    // Test case 6: a key longer than the block is hashed first.
    EXPECT_EQ(common::hmac_sha256_hex(std::string(131, '\xaa'),
                                      "Test Using Larger Than Block-Size Key - Hash Key First"),
              "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

TEST(Utf8, FindsEveryBrokenByteAndReplacesIt) {
    EXPECT_TRUE(common::invalid_utf8_offsets("plain \xC3\xA9t\xC3\xA9 \xF0\x9F\x98\x80").empty());
    // A lone continuation byte, a truncated sequence, an overlong '/', a
    // surrogate and a code point past U+10FFFF.
    const std::string broken = "a\x80" "b\xC3" "c\xC0\xAF" "d\xED\xA0\x80" "e\xF4\x90\x80\x80";
    EXPECT_EQ(common::invalid_utf8_offsets(broken),
              (std::vector<std::size_t>{1, 3, 5, 6, 8, 9, 10, 12, 13, 14, 15}));
    EXPECT_EQ(common::with_replacement_characters("a\x80z"), "a\xEF\xBF\xBDz");
    EXPECT_TRUE(common::invalid_utf8_offsets(common::with_replacement_characters(broken)).empty());
}

namespace {

class PrivacyTest : public ::testing::Test {
  protected:
    ingest::MappedMessage map(const std::string& text,
                              common::Source source = common::Source::browser) {
        ingest::MessageContext context;
        context.route = "/v1/batch";
        context.write_key_name = "web";
        context.source = source;
        context.received_at = *common::parse_timestamp("2024-05-01T12:00:10Z");
        context.privacy = &privacy_;
        context.client_address = client_address_;
        return ingest::map_message(text, context, *registry_);
    }

    ingest::RequestOutcome post(const std::string& body) {
        const std::string authorization = "Basic " + common::base64_encode("browser-key:");
        ingest::RequestInput input{"/v1/batch", body, authorization,
                                   *common::parse_timestamp("2024-05-01T12:00:00Z"), "", "",
                                   client_address_};
        ingest::IngestSettings settings;
        settings.privacy = privacy_;
        return ingest::process_request(input, *keys_, *registry_, settings);
    }

    const schema::SchemaRegistry* registry_ = &test::repository_contracts();
    const ingest::WriteKeyRing* keys_ = &test::browser_and_server_keys();
    ingest::PrivacySettings privacy_;
    std::string client_address_ = "198.51.100.23";
};

const std::string kEstimate =
    R"({"type":"track","messageId":"m-1","event":"shipping_estimate_viewed","userId":"u-1",
        "anonymousId":"a-1","properties":{"country":"DE","postal_code":"10115","cost":4.9},
        "context":{"page":{"path":"/cart"}CONSENT}})";

std::string estimate(const std::string& consent = "", const std::string& id = "m-1") {
    auto text = kEstimate;
    text.replace(text.find("CONSENT"), 7, consent);
    text.replace(text.find("m-1"), 3, id);
    return text;
}

}  // namespace

TEST_F(PrivacyTest, StoresTheTruncatedConnectionAddressByDefault) {
    const auto mapped = map(estimate());
    ASSERT_TRUE(mapped.event) << mapped.rejection->errors[0].message;
    EXPECT_EQ(json::parse(mapped.event->context),
              json::parse(R"({"page":{"path":"/cart"},"ip":"198.51.100.0"})"));
    EXPECT_EQ(mapped.event->user_id, "u-1");
    EXPECT_FALSE(mapped.anonymized);
}

TEST_F(PrivacyTest, FullOrNoAddressWhenConfigured) {
    privacy_.client_address = config::ClientAddress::full;
    EXPECT_EQ(json::parse(map(estimate()).event->context)["ip"], "198.51.100.23");
    privacy_.client_address = config::ClientAddress::none;
    EXPECT_FALSE(json::parse(map(estimate()).event->context).contains("ip"));
}

TEST_F(PrivacyTest, APageCannotChooseItsAddressButABackendNamesItsClients) {
    const std::string with_ip =
        R"({"type":"track","messageId":"m-2","event":"add_to_cart","anonymousId":"a-1",
            "properties":{"product_id":"p","price":1,"quantity":1},
            "context":{"ip":"2001:db8:1:2:3:4:5:6"}})";
    EXPECT_EQ(json::parse(map(with_ip).event->context)["ip"], "198.51.100.0");
    EXPECT_EQ(json::parse(map(with_ip, common::Source::server).event->context)["ip"],
              "2001:db8:1::");
    // A backend's own address is nobody's: without context.ip none is stored.
    const std::string from_backend =
        R"({"type":"track","messageId":"m-4","event":"add_to_cart","userId":"u",
            "properties":{"product_id":"p","price":1,"quantity":1}})";
    EXPECT_FALSE(
        json::parse(map(from_backend, common::Source::server).event->context).contains("ip"));
    // An address that is none is not stored.
    const std::string bad_ip =
        R"({"type":"track","messageId":"m-3","event":"add_to_cart","anonymousId":"a-1",
            "properties":{"product_id":"p","price":1,"quantity":1},"context":{"ip":"nobody"}})";
    EXPECT_FALSE(json::parse(map(bad_ip, common::Source::server).event->context).contains("ip"));
}

TEST_F(PrivacyTest, PersonalPropertiesAreRemovedByDefault) {
    const auto mapped = map(estimate());
    EXPECT_EQ(json::parse(mapped.event->properties),
              json::parse(R"({"country":"DE","cost":4.9})"));
}

TEST_F(PrivacyTest, PersonalPropertiesAreHashedWithTheKeyWhenConfigured) {
    privacy_.personal_data = config::PersonalData::hash;
    privacy_.personal_data_key = "0123456789abcdef0123456789abcdef";
    const auto properties = json::parse(map(estimate()).event->properties);
    EXPECT_EQ(properties["postal_code"],
              common::hmac_sha256_hex("0123456789abcdef0123456789abcdef", "10115"));
    EXPECT_EQ(properties["country"], "DE");
    // Another key, another hash: without the key a guess cannot be checked.
    privacy_.personal_data_key = "another key of at least 32 characters";
    EXPECT_NE(json::parse(map(estimate()).event->properties)["postal_code"],
              properties["postal_code"]);
    privacy_.personal_data = config::PersonalData::keep;
    EXPECT_EQ(json::parse(map(estimate()).event->properties)["postal_code"], "10115");
}

TEST_F(PrivacyTest, TraitsCopiedIntoTheContextAreProtectedLikeIdentifyTraits) {
    // Segment's browser library copies the identify traits into every
    // event's context.traits; identify's contract marks email as personal.
    const std::string with_traits =
        R"({"type":"track","messageId":"m-5","event":"add_to_cart","anonymousId":"a",
            "properties":{"product_id":"p","price":1,"quantity":1},
            "context":{"traits":{"email":"ann@example.com","plan":"pro"}}})";
    EXPECT_EQ(json::parse(map(with_traits).event->context)["traits"],
              json::parse(R"({"plan":"pro"})"));
    privacy_.personal_data = config::PersonalData::hash;
    privacy_.personal_data_key = "0123456789abcdef0123456789abcdef";
    EXPECT_EQ(json::parse(map(with_traits).event->context)["traits"]["email"],
              common::hmac_sha256_hex("0123456789abcdef0123456789abcdef", "ann@example.com"));
    privacy_.personal_data = config::PersonalData::keep;
    EXPECT_EQ(json::parse(map(with_traits).event->context)["traits"]["email"], "ann@example.com");
}

TEST_F(PrivacyTest, WithoutConsentTheEventIsKeptWithoutThePerson) {
    privacy_.personal_data = config::PersonalData::keep;
    const auto mapped = map(estimate(
        R"(,"consent":{"categoryPreferences":{"analytics":false}},"traits":{"email":"x@y.z"},
           "device":{"id":"d-1","type":"ios"},"adIds":{"gclid":"g-1","fbp":"fb.1.2.3"})"));
    ASSERT_TRUE(mapped.event);
    EXPECT_TRUE(mapped.anonymized);
    EXPECT_FALSE(mapped.event->user_id);
    EXPECT_FALSE(mapped.event->anonymous_id);
    // Personal properties go even where they would be kept with consent.
    EXPECT_EQ(json::parse(mapped.event->properties),
              json::parse(R"({"country":"DE","cost":4.9})"));
    EXPECT_EQ(json::parse(mapped.event->context),
              json::parse(R"({"page":{"path":"/cart"},"device":{"type":"ios"},
                              "consent":{"categoryPreferences":{"analytics":false}}})"));
}

TEST_F(PrivacyTest, WithoutConsentTheDropPolicyStoresNothing) {
    privacy_.consent_policy = config::ConsentPolicy::drop;
    const auto mapped = map(estimate(R"(,"consent":false)"));
    EXPECT_TRUE(mapped.dropped);
    EXPECT_FALSE(mapped.event);
    EXPECT_FALSE(mapped.rejection);
}

TEST_F(PrivacyTest, IdentifyWithoutConsentIsDroppedEvenWhenAnonymizing) {
    const auto mapped = map(R"({"type":"identify","messageId":"i-1","userId":"u-1",
        "traits":{"email":"x@y.z"},"context":{"consent":false}})");
    EXPECT_TRUE(mapped.dropped);
    EXPECT_FALSE(mapped.event);
}

TEST_F(PrivacyTest, UnstatedConsentCountsAsGrantedUnlessRequired) {
    EXPECT_FALSE(map(estimate()).anonymized);
    privacy_.consent_required = true;
    EXPECT_TRUE(map(estimate()).anonymized);
    EXPECT_FALSE(map(estimate(R"(,"consent":true)")).anonymized);
}

TEST_F(PrivacyTest, InvalidUtf8RejectsOnlyItsMessageAndKeepsItReadable) {
    const std::string body = R"({"batch":[{"type":"track","messageId":"ok","event":"add_to_cart",
        "anonymousId":"a","properties":{"product_id":"p","price":1,"quantity":1}},
        {"type":"track","messageId":"bad","event":"add_to_cart","anonymousId":"a",
         "properties":{"product_id":"p)" "\xC3\x28" R"(","price":1,"quantity":1}}]})";
    const auto outcome = post(body);
    ASSERT_FALSE(outcome.error) << outcome.error_message;
    ASSERT_EQ(outcome.events.size(), 1u);
    EXPECT_EQ(outcome.events[0].event_id, "ok");
    ASSERT_EQ(outcome.bad_events.size(), 1u);
    const auto& bad = outcome.bad_events[0];
    EXPECT_EQ(bad.reason, "invalid_encoding");
    EXPECT_TRUE(common::invalid_utf8_offsets(bad.raw_event).empty());
    EXPECT_NE(bad.raw_event.find("\"product_id\":\"p\xEF\xBF\xBD(\""), std::string::npos)
        << bad.raw_event;
    const auto errors = json::parse(bad.errors);
    ASSERT_EQ(errors.size(), 1u);
    const auto offset = body.find("\xC3\x28") - body.find(R"({"type":"track","messageId":"bad")");
    EXPECT_EQ(errors[0]["message"], "byte " + std::to_string(offset) +
                                        " (0xC3) is not UTF-8; stored as U+FFFD in raw_event");
}

TEST_F(PrivacyTest, ConsentOutcomesAreCountedPerRequest) {
    privacy_.consent_policy = config::ConsentPolicy::drop;
    const auto outcome = post(R"({"batch":[)" + estimate(R"(,"consent":false)") + "," +
                              estimate(R"(,"consent":true)", "m-2") + "]}");
    ASSERT_FALSE(outcome.error) << outcome.error_message;
    EXPECT_EQ(outcome.dropped_without_consent, 1u);
    ASSERT_EQ(outcome.events.size(), 1u);
    EXPECT_EQ(outcome.events[0].event_id, "m-2");
    EXPECT_TRUE(outcome.bad_events.empty());
}
