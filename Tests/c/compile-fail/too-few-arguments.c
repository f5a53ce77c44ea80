/* EXPECT: error */
#include <crochet.h>
#include <stdint.h>
static int32_t add(int32_t a, int32_t b) { return a + b; }
int main(void) { crochet_result *r; return CROCHET_CALL(&r, add, 1); }
