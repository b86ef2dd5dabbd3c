package io.buildgateway.auth;

import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import org.springframework.data.jpa.repository.JpaRepository;
import org.springframework.data.jpa.repository.Query;

interface ApiTokenRepository extends JpaRepository<ApiToken, UUID> {

    Optional<ApiToken> findBySecretHash(String secretHash);

    /** The token whose current or previous (rotated) secret has this hash. */
    @Query("select t from ApiToken t where t.secretHash = :hash or t.previousSecretHash = :hash")
    Optional<ApiToken> findByAnySecretHash(String hash);

    List<ApiToken> findAllByOrderByCreatedAtDesc();

    /**
     * The token, its row locked until the transaction ends: a revocation and a rotation of the same token are
     * decided one after the other. Without it, a rotation that read the row before a revocation committed wrote it
     * back whole afterwards (every column), undoing the revocation the trail had recorded.
     */
    @org.springframework.data.jpa.repository.Lock(jakarta.persistence.LockModeType.PESSIMISTIC_WRITE)
    @Query("select t from ApiToken t where t.id = :id")
    Optional<ApiToken> findByIdForUpdate(UUID id);

    /** Live tokens that expire after {@code from} and no later than {@code until}, soonest first. */
    @Query("select t from ApiToken t where t.revokedAt is null and t.expiresAt > :from and t.expiresAt <= :until"
            + " order by t.expiresAt asc")
    List<ApiToken> findExpiring(Instant from, Instant until);
}
