package io.buildgateway.auth;

import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.Id;
import jakarta.persistence.Table;
import java.time.Instant;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.LinkedHashSet;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Collectors;

/** A token row: never the secret itself, only its SHA-256. */
@Entity
@Table(name = "api_token")
class ApiToken {

    @Id
    private UUID id;
    private String name;
    @Column(name = "secret_hash")
    private String secretHash;
    private String roles;
    private String teams;
    @Column(name = "created_at")
    private Instant createdAt;
    @Column(name = "created_by")
    private String createdBy;
    @Column(name = "expires_at")
    private Instant expiresAt;
    @Column(name = "revoked_at")
    private Instant revokedAt;
    @Column(name = "last_used_at")
    private Instant lastUsedAt;
    @Column(name = "previous_secret_hash")
    private String previousSecretHash;
    @Column(name = "previous_secret_retires_at")
    private Instant previousSecretRetiresAt;
    @Column(name = "previous_secret_last_used_at")
    private Instant previousSecretLastUsedAt;
    @Column(name = "rotated_at")
    private Instant rotatedAt;

    protected ApiToken() {
    }

    ApiToken(UUID id, String name, String secretHash, Set<Role> roles, Set<String> teams, Instant createdAt,
            String createdBy, Instant expiresAt) {
        this.id = id;
        this.name = name;
        this.secretHash = secretHash;
        this.roles = roles.stream().map(Enum::name).sorted().collect(Collectors.joining(","));
        this.teams = teams.stream().sorted().collect(Collectors.joining(","));
        this.createdAt = createdAt;
        this.createdBy = createdBy;
        this.expiresAt = expiresAt;
    }

    UUID id() {
        return id;
    }

    String name() {
        return name;
    }

    Set<Role> roles() {
        return roles(roles);
    }

    Set<String> teams() {
        return teams(teams);
    }

    /** The roles of the column's text ({@code ADMIN,BUILDER}). */
    static Set<Role> roles(String column) {
        EnumSet<Role> set = EnumSet.noneOf(Role.class);
        Arrays.stream(column.split(",")).filter(s -> !s.isBlank()).map(Role::valueOf).forEach(set::add);
        return set;
    }

    /** The teams of the column's text ({@code payments,web}). */
    static Set<String> teams(String column) {
        return Arrays.stream(column.split(",")).filter(s -> !s.isBlank())
                .collect(Collectors.toCollection(LinkedHashSet::new));
    }

    Instant createdAt() {
        return createdAt;
    }

    String createdBy() {
        return createdBy;
    }

    Instant expiresAt() {
        return expiresAt;
    }

    Instant revokedAt() {
        return revokedAt;
    }

    Instant lastUsedAt() {
        return lastUsedAt;
    }

    String secretHash() {
        return secretHash;
    }

    String previousSecretHash() {
        return previousSecretHash;
    }

    Instant previousSecretRetiresAt() {
        return previousSecretRetiresAt;
    }

    Instant previousSecretLastUsedAt() {
        return previousSecretLastUsedAt;
    }

    Instant rotatedAt() {
        return rotatedAt;
    }

    /**
     * A new secret: the current one becomes the previous secret, accepted until {@code previousRetiresAt}; a
     * secret that was already previous is dropped at once (one previous secret at a time).
     */
    void rotate(String newSecretHash, Instant at, Instant previousRetiresAt, Instant newExpiresAt) {
        previousSecretHash = secretHash;
        previousSecretRetiresAt = previousRetiresAt;
        previousSecretLastUsedAt = null;
        secretHash = newSecretHash;
        rotatedAt = at;
        expiresAt = newExpiresAt;
    }

    boolean activeAt(Instant now) {
        return revokedAt == null && (expiresAt == null || now.isBefore(expiresAt));
    }

    void revoke(Instant at) {
        if (revokedAt == null) {
            revokedAt = at;
        }
    }

    void usedAt(Instant at) {
        lastUsedAt = at;
    }
}
