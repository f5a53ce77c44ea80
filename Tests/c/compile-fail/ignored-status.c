/* EXPECT: ignoring return value */
/* A status that must not be dropped: crochet_setup's. */
#include <crochet.h>
int main(void) { crochet_setup(); return 0; }
