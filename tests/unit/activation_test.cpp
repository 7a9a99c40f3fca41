// What is sent to ad platforms and webhooks, byte for byte: the values
// persons are matched on, and webhook signatures. The expected hashes and
// signatures were computed independently (Python's hashlib and hmac).
#include <gtest/gtest.h>

#include "funnelhouse/activation/matching.hpp"
#include "funnelhouse/activation/signature.hpp"
#include "funnelhouse/common/sha256.hpp"

using namespace funnelhouse;
using namespace funnelhouse::activation;

TEST(Matching, EmailsAreTrimmedAndLowerCasedBeforeTheyAreHashed) {
    EXPECT_EQ(normalized_email(" Ann@Example.COM\n"), "ann@example.com");
    EXPECT_EQ(common::sha256_hex(*normalized_email(" Ann@Example.COM\n")),
              "71d4f55f72fa128dfb468a1a3901507c804b74316488744d769d7f4b16696476");
    // Dots stay for Meta, and for Google outside Gmail.
    EXPECT_EQ(normalized_email("ann.smith@gmail.com"), "ann.smith@gmail.com");
    EXPECT_EQ(normalized_email_for_google("ann.smith@example.com"), "ann.smith@example.com");
    EXPECT_EQ(normalized_email(""), std::nullopt);
    EXPECT_EQ(normalized_email("   "), std::nullopt);
    EXPECT_EQ(normalized_email("ann"), std::nullopt);
    EXPECT_EQ(normalized_email("@example.com"), std::nullopt);
    EXPECT_EQ(normalized_email("ann@"), std::nullopt);
}

TEST(Matching, GoogleIgnoresTheDotsOfGmailAddresses) {
    EXPECT_EQ(normalized_email_for_google(" Ann.Smith@GMail.com"), "annsmith@gmail.com");
    EXPECT_EQ(common::sha256_hex(*normalized_email_for_google(" Ann.Smith@GMail.com")),
              "c1a222ae1fca88014d03eef4e45c3dd3785f2be3f454078836a3557761df0746");
    EXPECT_EQ(normalized_email_for_google("a.b@googlemail.com"), "ab@googlemail.com");
    EXPECT_EQ(normalized_email_for_google("...@gmail.com"), std::nullopt);
}

TEST(Matching, PhonesBecomeDigitsWithTheirCountryCode) {
    for (const auto* raw : {"+49 (151) 123-456 78", "0049 151 12345678", "0151 12345678"}) {
        EXPECT_EQ(normalized_phone(raw, "49"), "4915112345678") << raw;
        EXPECT_EQ(normalized_phone_e164(raw, "+49"), "+4915112345678") << raw;
    }
    EXPECT_EQ(common::sha256_hex(*normalized_phone("+49 151 12345678", "")),
              "8efb96404be52f6109b9db0f687274a81e9e3cc23fabd6f0da5d38baa3d2facd");
    EXPECT_EQ(common::sha256_hex(*normalized_phone_e164("+49 151 12345678", "")),
              "536afd523e19dc83fccba822ef5e4ca646111314aaf0aa286667c5bea18dd70b");
    // A national number needs the country it belongs to.
    EXPECT_EQ(normalized_phone("0151 12345678", ""), std::nullopt);
    EXPECT_EQ(normalized_phone("call me", "49"), std::nullopt);
    EXPECT_EQ(normalized_phone("+", "49"), std::nullopt);
    EXPECT_EQ(normalized_phone("000", "49"), std::nullopt);
    EXPECT_EQ(normalized_phone("+0151 12345678", "49"), std::nullopt);
    EXPECT_EQ(normalized_phone("+49 151 12345678901", "49"), std::nullopt);  // 16 digits
    EXPECT_EQ(normalized_phone("+49 151 1234567890", "49"), "491511234567890");
}

TEST(WebhookSignature, SignsIdTimestampAndBodyAsStandardWebhooksDescribes) {
    const auto key = webhook_key("whsec_ZnVubmVsaG91c2UtdGVzdC1rZXktMDEyMzQ1Njc4OQ==");
    ASSERT_TRUE(key);
    EXPECT_EQ(*key, "funnelhouse-test-key-0123456789");
    EXPECT_EQ(webhook_signature(*key, "msg_e-1", 1700000000, R"({"event_id":"e-1","value":12.5})"),
              "v1,aPNUWFp0UyeCdoxc6TCPoWSBUsgrKxXSTpg5e3z7Rjc=");
    // Any byte of what is signed changes the signature.
    EXPECT_NE(webhook_signature(*key, "msg_e-1", 1700000001, R"({"event_id":"e-1","value":12.5})"),
              "v1,aPNUWFp0UyeCdoxc6TCPoWSBUsgrKxXSTpg5e3z7Rjc=");
    EXPECT_NE(webhook_signature(*key, "msg_e-2", 1700000000, R"({"event_id":"e-1","value":12.5})"),
              "v1,aPNUWFp0UyeCdoxc6TCPoWSBUsgrKxXSTpg5e3z7Rjc=");
}

TEST(WebhookSignature, SecretsWithoutThePrefixAreTheKeyItself) {
    EXPECT_EQ(webhook_key("plain-key"), "plain-key");
    EXPECT_EQ(webhook_key(""), std::nullopt);
    EXPECT_EQ(webhook_key("whsec_"), std::nullopt);
    EXPECT_EQ(webhook_key("whsec_not base64!"), std::nullopt);
}
