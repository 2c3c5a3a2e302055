#include "media/common/seq_unwrapper.hpp"

#include <gtest/gtest.h>

using namespace tincan::media;

TEST(Unwrapper, CountsOnAcrossTheWrapBothWays) {
    SeqUnwrapper u;
    const int64_t a = u.unwrap(65534);
    EXPECT_EQ(u.unwrap(65535), a + 1);
    EXPECT_EQ(u.unwrap(1), a + 3);      // forward over the wrap
    EXPECT_EQ(u.unwrap(65533), a - 1);  // a straggler from before it
    EXPECT_EQ(u.unwrap(2), a + 4);      // the straggler did not move the reference
    EXPECT_EQ(u.peek(0), a + 2);
    PictureIdUnwrapper p;
    const int64_t b = p.unwrap(0x7FFF);
    EXPECT_EQ(p.unwrap(0), b + 1);  // 15 bits
    Unwrapper<32> t;
    const int64_t c = t.unwrap(0xFFFFFF00u);
    EXPECT_EQ(t.unwrap(0x100u), c + 0x200);
    EXPECT_GT(c, 0);  // room below the first value
}
