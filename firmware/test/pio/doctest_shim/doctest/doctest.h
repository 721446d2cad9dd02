// PlatformIO's doctest package installs <doctest.h>; the tests include <doctest/doctest.h> as the
// Debian/CMake build provides it.
#pragma once
#include <doctest.h>
