/* EXPECT: each argument must have exactly the type of its parameter */
/* C would convert 10 to double; libffi would pass an int: refused. */
#include <crochet.h>
static double half(double x) { return x / 2; }
int main(void) { crochet_result *r; return CROCHET_CALL(&r, half, 10); }
