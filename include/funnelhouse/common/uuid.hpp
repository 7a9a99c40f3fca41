#pragma once

#include <string>

namespace funnelhouse::common {

// A random (version 4) UUID in its canonical lowercase text form.
std::string new_uuid();

}  // namespace funnelhouse::common
