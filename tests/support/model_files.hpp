#pragma once

// The repository's model files (models/), for the tests that refresh.
#include "funnelhouse/models/catalog.hpp"
#include "funnelhouse/models/refresh.hpp"
#include "temp_dir.hpp"
#include "test_contracts.hpp"
#include "test_database.hpp"

namespace funnelhouse::test {

inline const models::Catalog& model_catalog() {
    static const auto catalog = models::load_catalog({source_dir() / "models"});
    return catalog;
}

// Refreshes the models of `schema` from the repository's model files.
inline models::RefreshReport refresh_models(const TestSchema& schema) {
    auto connection = schema.connect();
    return models::refresh(*connection, repository_contracts(), model_catalog());
}

}  // namespace funnelhouse::test
