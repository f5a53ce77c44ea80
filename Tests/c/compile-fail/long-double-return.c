/* EXPECT: the return type has no crochet_type */
#include <crochet.h>
static long double precise(void) { return 1.0L; }
int main(void) { crochet_result *r; return CROCHET_CALL(&r, precise); }
