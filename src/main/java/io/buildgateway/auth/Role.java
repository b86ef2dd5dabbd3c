package io.buildgateway.auth;

/** The roles of API.md. A token holds one or more. */
public enum Role {
    BUILDER, DEPLOYER, SECURITY, AUDITOR, ADMIN;

    public String authority() {
        return "ROLE_" + name();
    }
}
