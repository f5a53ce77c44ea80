/* EXPECT: each argument must have exactly the type of its parameter */
/* A pointer argument must be the parameter's pointer type, const included. */
#include <crochet.h>
#include <string.h>
static size_t length(const char *s) { return strlen(s); }
int main(void) { char buf[8] = "abc"; crochet_result *r; return CROCHET_CALL(&r, length, buf); }
