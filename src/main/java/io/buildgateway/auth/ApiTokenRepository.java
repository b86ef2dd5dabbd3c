package io.buildgateway.auth;

import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import org.springframework.data.jpa.repository.JpaRepository;
import org.springframework.data.jpa.repository.Modifying;
import org.springframework.data.jpa.repository.Query;

interface ApiTokenRepository extends JpaRepository<ApiToken, UUID> {

    Optional<ApiToken> findBySecretHash(String secretHash);

    List<ApiToken> findAllByOrderByCreatedAtDesc();

    @Modifying
    @Query("update ApiToken t set t.lastUsedAt = :at where t.id = :id")
    void touch(UUID id, Instant at);
}
