package dev.rectify.server;

/** The {@code limit} query parameter of list endpoints: 1 to 100, default 20. */
final class Paging {
    private Paging() {}

    static int limit(String limit) {
        if (limit == null || limit.isBlank()) {
            return 20;
        }
        try {
            int n = Integer.parseInt(limit.strip());
            if (n >= 1 && n <= 100) {
                return n;
            }
        } catch (NumberFormatException e) {
            // fall through
        }
        throw ApiException.invalid("limit", "'limit' must be an integer in [1, 100], got " + Ids.quote(limit));
    }
}
