#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <pqxx/pqxx>

#include "funnelhouse/loader/writer.hpp"
#include "test_database.hpp"

namespace funnelhouse::test {

// A test with a migrated database of its own and a connection ready for the
// loader's writer (its staging tables made).
class WriterFixture : public ::testing::Test {
  protected:
    void SetUp() override {
        schema_.migrate();
        connection_ = schema_.connect();
        loader::prepare_staging(*connection_);
    }
    TestSchema schema_;
    std::unique_ptr<pqxx::connection> connection_;
};

}  // namespace funnelhouse::test
