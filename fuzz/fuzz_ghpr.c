/* fuzz_ghpr.c - libFuzzer harness of the GitHub PR client's decoders
 * (adapters/ghpr.h): a page of issue comments searched for the marker, one
 * comment, a page of an issue's labels and of a commit's statuses (the
 * lookups of a resumed hop), GitHub's error answers (ghpr_parse_error, ghpr_label_absent,
 * ghpr_classify), and the Link header (ghpr_link_next).
 *
 * Input: byte 0 picks the HTTP status; then the body, optionally followed
 * by a 0x00 byte and a Link header value (used NUL-terminated, as curl
 * gives it).
 *
 * Invariants: strings stay NUL-terminated inside their buffers; a comment
 * found has a positive id; a status found has a state; found flags are 0 or
 * 1; a next link found fits and is non-empty. */
#include <string.h>

#include "adapters/ghpr.h"
#include "fuzz/fuzz.h"

/* LLVMFuzzerTestOneInput - one GitHub answer (and Link header) through every decoder. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const long statuses[] = { 200, 201, 204, 304, 401, 403, 404, 422, 429, 500, 502 };
    struct ghpr_comment_page page;
    struct ghpr_result res;
    static const char *const want[] = { "promoted:staging", "needs-promotion", "" };
    unsigned char found[3];
    char state[32], desc[600];
    int rc;
    const uint8_t *link;
    size_t linklen, len;
    char err[256], msg[256], url[512], next[512], *body, *lk;
    int64_t id;
    long status;

    if (size < 1)
        return 0;
    status = statuses[data[0] % (sizeof(statuses) / sizeof(statuses[0]))];
    data++, size--;
    len = fuzz_split(data, size, 0x00, &link, &linklen);
    body = fuzz_copy(data, len);

    memset(&page, 0, sizeof(page));
    if (ghpr_parse_comment_list(body, len, "promo-summary", &page, err, sizeof(err)) == 0) {
        FUZZ_CHECK(page.count >= 0 && page.found_id >= 0);
        FUZZ_CHECK(memchr(page.found_url, 0, sizeof(page.found_url)) != NULL);
    } else {
        FUZZ_CHECK(err[0] != '\0');
    }
    url[0] = 0;
    if (ghpr_parse_comment(body, len, &id, url, sizeof(url), err, sizeof(err)) == 0)
        FUZZ_CHECK(id > 0 && memchr(url, 0, sizeof(url)) != NULL);

    memset(found, 0, sizeof(found));
    if (ghpr_parse_label_list(body, len, want, 3, found, err, sizeof(err)) == 0)
        FUZZ_CHECK(found[0] <= 1 && found[1] <= 1 && found[2] <= 1);
    else
        FUZZ_CHECK(err[0] != '\0');
    rc = ghpr_parse_status_list(body, len, "promo/staging", state, sizeof(state), desc, sizeof(desc),
                                err, sizeof(err));
    FUZZ_CHECK(rc >= -1 && rc <= 1);
    FUZZ_CHECK(memchr(state, 0, sizeof(state)) != NULL && memchr(desc, 0, sizeof(desc)) != NULL);
    if (rc == 1)
        FUZZ_CHECK(state[0] != '\0');
    else if (rc < 0)
        FUZZ_CHECK(err[0] != '\0');

    ghpr_parse_error(body, len, msg, sizeof(msg));
    FUZZ_CHECK(memchr(msg, 0, sizeof(msg)) != NULL);
    (void)ghpr_label_absent(status, body, len);

    memset(&res, 0, sizeof(res));
    (void)ghpr_classify(0, NULL, status, body, len, NULL, status == 403 ? "0" : "4999",
                        "1764304200", 1764300000, "add labels to acme/shop#42", &res);
    FUZZ_CHECK(res.error >= 0 && res.error <= ADAPTER_EPERM);
    FUZZ_CHECK(memchr(res.errmsg, 0, sizeof(res.errmsg)) != NULL);
    FUZZ_CHECK(res.retry_after_ms >= 0);

    if (len < size) {
        lk = fuzz_cstr(link, linklen);
        (void)ghpr_classify(0, NULL, status, body, len, lk, lk, lk, 1764300000,
                            "search comments of acme/shop#42", &res);
        FUZZ_CHECK(res.retry_after_ms >= 0);
        if (ghpr_link_next(lk, next, sizeof(next)))
            FUZZ_CHECK(next[0] && strlen(next) < sizeof(next));
        if (ghpr_link_next(lk, next, 16))
            FUZZ_CHECK(strlen(next) < 16);
        free(lk);
    }
    free(body);
    return 0;
}
