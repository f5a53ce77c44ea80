/* Prints the header's version string and the library's, for check-abi.sh. */
#include <crochet.h>
#include <stdio.h>
#include <string.h>

int main(void) {
    char expected[64];
    snprintf(expected, sizeof expected, "%d.%d.%d", CROCHET_VERSION_MAJOR, CROCHET_VERSION_MINOR,
             CROCHET_VERSION_PATCH);
    if (strcmp(expected, CROCHET_VERSION_STRING) != 0) {
        fprintf(stderr, "version macros disagree: %s vs %s\n", expected, CROCHET_VERSION_STRING);
        return 1;
    }
    printf("%s %s\n", CROCHET_VERSION_STRING, crochet_version());
    return 0;
}
