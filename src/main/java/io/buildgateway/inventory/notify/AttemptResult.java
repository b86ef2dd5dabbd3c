package io.buildgateway.inventory.notify;

/**
 * What one delivery attempt came to. Transient failures are retried with backoff; permanent ones are not, because
 * repeating the same request cannot change the answer (a 4xx other than 408 and 429, an SMTP 5xx reply, a target
 * that is no longer configured).
 *
 * @param statusCode the HTTP status or SMTP reply code, when the other side answered
 * @param error why it failed, for the delivery row (never a secret); null when delivered
 */
record AttemptResult(Kind kind, Integer statusCode, String error) {

    enum Kind { DELIVERED, TRANSIENT, PERMANENT }

    static final int MAX_ERROR = 500;

    AttemptResult {
        if (error != null && error.length() > MAX_ERROR) {
            error = error.substring(0, MAX_ERROR) + "…";
        }
    }

    static AttemptResult delivered(Integer statusCode) {
        return new AttemptResult(Kind.DELIVERED, statusCode, null);
    }

    static AttemptResult transientFailure(Integer statusCode, String error) {
        return new AttemptResult(Kind.TRANSIENT, statusCode, error);
    }

    static AttemptResult permanentFailure(Integer statusCode, String error) {
        return new AttemptResult(Kind.PERMANENT, statusCode, error);
    }

    /** A receiver's HTTP answer: 2xx delivered; 408, 429 and every other non-4xx retried; other 4xx permanent. */
    static AttemptResult ofHttpStatus(int status) {
        if (status >= 200 && status < 300) {
            return delivered(status);
        }
        String error = "HTTP " + status + " from the receiver";
        if (status >= 400 && status < 500 && status != 408 && status != 429) {
            return permanentFailure(status, error);
        }
        return transientFailure(status, error);
    }
}
