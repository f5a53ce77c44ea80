/* Prints the header's version (string, number) and the library's, for check-abi.sh. */
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
    if (CROCHET_VERSION_NUMBER != CROCHET_VERSION_MAJOR * 10000 + CROCHET_VERSION_MINOR * 100 + CROCHET_VERSION_PATCH) {
        fprintf(stderr, "CROCHET_VERSION_NUMBER %d disagrees with the macros\n", CROCHET_VERSION_NUMBER);
        return 1;
    }
    /* header string, runtime string, header number, runtime number */
    printf("%s %s %d %u\n", CROCHET_VERSION_STRING, crochet_version(), CROCHET_VERSION_NUMBER,
           crochet_version_number());
    return 0;
}
