package io.buildgateway.builds;

/** API.md's build states; the last four are final. */
public enum BuildStatus {
    QUEUED, RUNNING, SUCCEEDED, FAILED, REJECTED, CANCELLED;

    public boolean isFinal() {
        return this != QUEUED && this != RUNNING;
    }
}
