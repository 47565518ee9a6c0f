// gatehouse's version, set by CMake from the project version.
#pragma once

#ifndef GATEHOUSE_VERSION
#define GATEHOUSE_VERSION "dev"
#endif

namespace gatehouse {

inline constexpr const char* version_string = GATEHOUSE_VERSION;

}  // namespace gatehouse
