package io.buildgateway.provenance;

import io.buildgateway.builds.BuildSucceeded;
import io.buildgateway.hostpool.ImageRegistry;
import io.buildgateway.shared.AuditRecord;
import io.buildgateway.shared.BuildPhases;
import io.buildgateway.shared.Digest;
import io.buildgateway.shared.RequestInfo;
import io.buildgateway.signing.GatewayKey;
import java.nio.charset.StandardCharsets;
import java.sql.Timestamp;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import org.springframework.context.ApplicationEventPublisher;
import org.springframework.context.event.EventListener;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Service;

/**
 * Signs the provenance of every pushed image. It listens for {@code BuildSucceeded}, which is published in the
 * transaction that marks the build SUCCEEDED: the statement is built, signed with the gateway's key, checked against
 * the public key, and stored in that same transaction — so a SUCCEEDED build always has its signed provenance, and a
 * failure to sign fails the build (nothing of the success commits). Storing it in the registry follows the commit
 * ({@code Attestations}).
 */
@Service
public class Provenance {

    private final JdbcClient db;
    private final GatewayKey key;
    private final ImageRegistry registry;
    private final ProvenanceProperties properties;
    private final ApplicationEventPublisher events;
    private final Clock clock;
    private final String version;

    private final BuildPhases phases;

    Provenance(JdbcClient db, GatewayKey key, ImageRegistry registry, ProvenanceProperties properties,
            ApplicationEventPublisher events, Clock clock, BuildPhases phases) {
        this.phases = phases;
        this.db = db;
        this.key = key;
        this.registry = registry;
        this.properties = properties;
        this.events = events;
        this.clock = clock;
        String v = Provenance.class.getPackage().getImplementationVersion();
        this.version = v == null ? "development" : v;
    }

    /** A stored provenance: the DSSE envelope as signed, and where it stands. */
    public record Stored(String imageDigest, UUID buildId, String repository, String team, String keyId,
            String envelope, Instant signedAt, Instant attachedAt, String attachError) {
    }

    /** Published when a provenance is stored; the registry copy is made once the transaction commits. */
    record Signed(String imageDigest, UUID buildId) {
    }

    @EventListener
    void sign(BuildSucceeded b) {
        long start = System.nanoTime();
        Digest image = Digest.parse(b.imageDigest());
        byte[] statement = ProvenanceStatement.of(b, properties.builderId(), version, registry.address());
        Dsse.Envelope envelope = Dsse.sign(key, Dsse.IN_TOTO, statement);
        // A signature that does not verify (a misbehaving token) must fail here, not at an admission controller.
        Dsse.verify(key.publicKey(), envelope, Dsse.IN_TOTO);
        String json = new String(envelope.toJson(), StandardCharsets.UTF_8);
        Instant now = clock.instant().truncatedTo(ChronoUnit.MICROS);
        String payloadDigest = CosignAttestation.sha256(statement);
        int stored = db.sql("""
                insert into image_provenance (image_digest, build_id, repository, team, predicate_type, key_id,
                    envelope, payload_digest, signed_at, next_attempt_at)
                values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                on conflict (image_digest, build_id) do nothing
                """)
                .params(image.value(), b.buildId(), b.repository(), b.team(), ProvenanceStatement.PREDICATE_TYPE,
                        key.keyId(), json, payloadDigest, Timestamp.from(now),
                        properties.attach() ? Timestamp.from(now) : null)
                .update();
        if (stored == 0) {
            return; // the same event twice: already signed
        }
        Map<String, Object> details = new LinkedHashMap<>();
        details.put("buildId", b.buildId().toString());
        details.put("predicateType", ProvenanceStatement.PREDICATE_TYPE);
        details.put("keyId", key.keyId());
        details.put("payloadDigest", payloadDigest);
        events.publishEvent(new AuditRecord("provenance.signed", "image/" + image.value(),
                AuditRecord.Outcome.SUCCESS, details, RequestInfo.system()));
        events.publishEvent(new Signed(image.value(), b.buildId()));
        phases.record(b.buildId().toString(), BuildPhases.PROVENANCE,
                System.nanoTime() - start);
    }

    /** The newest provenance of an image (the last build that pushed these bytes), or of one build of it. */
    public Optional<Stored> find(String imageDigest, UUID buildId) {
        return db.sql("""
                select image_digest, build_id, repository, team, key_id, envelope, signed_at, attached_at, attach_error
                from image_provenance
                where image_digest = :digest and (cast(:build as uuid) is null or build_id = cast(:build as uuid))
                order by signed_at desc, build_id desc
                limit 1
                """).param("digest", imageDigest).param("build", buildId == null ? null : buildId.toString())
                .query((rs, n) -> new Stored(rs.getString(1), rs.getObject(2, UUID.class), rs.getString(3),
                        rs.getString(4), rs.getString(5), rs.getString(6), rs.getTimestamp(7).toInstant(),
                        rs.getTimestamp(8) == null ? null : rs.getTimestamp(8).toInstant(), rs.getString(9)))
                .optional();
    }
}
