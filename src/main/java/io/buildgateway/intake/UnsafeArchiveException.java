package io.buildgateway.intake;

/** The archive is unreadable or unsafe; the message says which entry and why, fit for a client. */
public class UnsafeArchiveException extends Exception {

    private final String kind;

    public UnsafeArchiveException(String kind, String message) {
        super(message, null, false, false);
        this.kind = kind;
    }

    /** A stable short name of the failure ({@code path-traversal}, {@code link-escape}, ...). */
    public String kind() {
        return kind;
    }
}
