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

    /** The token whose current or previous (rotated) secret has this hash. */
    @Query("select t from ApiToken t where t.secretHash = :hash or t.previousSecretHash = :hash")
    Optional<ApiToken> findByAnySecretHash(String hash);

    List<ApiToken> findAllByOrderByCreatedAtDesc();

    /** Live tokens that expire after {@code from} and no later than {@code until}, soonest first. */
    @Query("select t from ApiToken t where t.revokedAt is null and t.expiresAt > :from and t.expiresAt <= :until"
            + " order by t.expiresAt asc")
    List<ApiToken> findExpiring(Instant from, Instant until);

    /** Records a use unless one was recorded after {@code notAfter}: concurrent requests write once. */
    @Modifying
    @Query("update ApiToken t set t.lastUsedAt = :at where t.id = :id"
            + " and (t.lastUsedAt is null or t.lastUsedAt < :notAfter)")
    int touch(UUID id, Instant at, Instant notAfter);

    @Modifying
    @Query("update ApiToken t set t.previousSecretLastUsedAt = :at where t.id = :id"
            + " and (t.previousSecretLastUsedAt is null or t.previousSecretLastUsedAt < :notAfter)")
    int touchPrevious(UUID id, Instant at, Instant notAfter);
}
