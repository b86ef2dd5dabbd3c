package io.buildgateway.auth;

import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.Id;
import jakarta.persistence.Table;
import java.time.Instant;

@Entity
@Table(name = "team")
class Team {

    @Id
    private String name;
    private String description;
    @Column(name = "created_at")
    private Instant createdAt;

    protected Team() {
    }

    Team(String name, String description, Instant createdAt) {
        this.name = name;
        this.description = description;
        this.createdAt = createdAt;
    }

    String name() {
        return name;
    }

    String description() {
        return description;
    }

    Instant createdAt() {
        return createdAt;
    }
}
