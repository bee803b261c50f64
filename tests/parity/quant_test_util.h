// Helpers shared by the quantized-weight tests (test_quant_*.cpp).
#pragma once

#include "uhdlens/errors.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>

namespace quant_test {

// f() must throw uhdlens::Error with `code`; `what` names the case in the failure message.
inline void expectErrorCode(uhdlens::ErrorCode code, const std::function<void()> &f, const std::string &what)
{
    try {
        f();
        ADD_FAILURE() << what << ": accepted";
    } catch (const uhdlens::Error &e) {
        EXPECT_EQ(e.code(), code) << what << ": " << e.what();
    }
}

} // namespace quant_test
