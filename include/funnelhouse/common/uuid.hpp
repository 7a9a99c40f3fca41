#pragma once

#include <string>
#include <string_view>

namespace funnelhouse::common {

// A random (version 4) UUID in its canonical lowercase text form.
std::string new_uuid();

// A name-based UUID (version 8, from the SHA-256 of `name`): the same name
// always gives the same id, so a retried message maps to the same row.
std::string uuid_from_name(std::string_view name);

}  // namespace funnelhouse::common
