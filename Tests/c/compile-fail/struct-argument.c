/* EXPECT: error */
/* A struct has no crochet_type. */
#include <crochet.h>
struct point { int x, y; };
static int norm(struct point p) { return p.x + p.y; }
int main(void) { struct point p = { 1, 2 }; crochet_result *r; return CROCHET_CALL(&r, norm, p); }
