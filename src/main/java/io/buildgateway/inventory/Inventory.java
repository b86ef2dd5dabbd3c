package io.buildgateway.inventory;

import io.buildgateway.builds.BuildSucceeded;
import io.buildgateway.shared.AuditRecord;
import io.buildgateway.shared.RequestInfo;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import org.springframework.context.ApplicationEventPublisher;
import org.springframework.context.event.EventListener;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Service;

/**
 * Records every pushed image as an inventory entry, in the transaction that marks its build SUCCEEDED: the image
 * (with the base its scan verified), and the tag it was pushed under — a tag that moves to a new digest closes its
 * old row, so the history stays.
 */
@Service
public class Inventory {

    private final JdbcClient db;
    private final ApplicationEventPublisher events;

    Inventory(JdbcClient db, ApplicationEventPublisher events) {
        this.db = db;
        this.events = events;
    }

    /** The first key of a tag's lock: pg_advisory_xact_lock(TAG_LOCK_CLASS, hashtext(repository:tag)). */
    static final int TAG_LOCK_CLASS = 0x7461_6700; // "tag\0"

    @EventListener
    void pushed(BuildSucceeded b) {
        if (b.imageDigest() == null) {
            return;
        }
        // The base as verification saw it on the build host: the reference and the registry digest it was pulled by.
        Map<String, Object> base = db.sql("select base_image, base_digest from image_scan where build_id = ?")
                .param(b.buildId()).query().listOfRows().stream().findFirst().orElse(Map.of());
        Timestamp at = Timestamp.from(b.finishedAt());
        db.sql("""
                insert into image (digest, repository, team, build_id, image_id, base_ref, base_digest, first_seen,
                    provenance)
                values (?, ?, ?, ?, ?, ?, ?, ?, 'gateway')
                on conflict (digest) do update set build_id = excluded.build_id, team = excluded.team,
                    image_id = excluded.image_id, base_ref = excluded.base_ref, base_digest = excluded.base_digest,
                    provenance = 'gateway'
                """)
                .params(b.imageDigest(), b.repository(), b.team(), b.buildId(), b.imageId(),
                        base.getOrDefault("base_image", b.baseImage()), base.get("base_digest"), at)
                .update();
        // Two builds of one tag finishing together are recorded one after the other: without the lock both read the
        // same current row, the second's insert broke image_tag_current, and its build (pushed) was recorded FAILED.
        // Two 32-bit keys: a key space apart from the single 64-bit keys the gateway's other locks use.
        db.sql("select pg_advisory_xact_lock(" + TAG_LOCK_CLASS + ", hashtext(? || ':' || ?)) is not null")
                .params(b.repository(), b.tag()).query(Boolean.class).single();
        Optional<Map<String, Object>> current = db.sql("select digest, since from image_tag where repository = ?"
                + " and tag = ? and until is null").params(b.repository(), b.tag()).query().listOfRows().stream()
                .findFirst();
        Optional<String> previous = current.map(r -> (String) r.get("digest"));
        if (previous.isPresent() && previous.get().equals(b.imageDigest())) {
            return; // rebuilt to the same bytes: the tag did not move
        }
        Timestamp since = current.map(r -> (Timestamp) r.get("since")).orElse(null);
        if (since != null && since.after(at)) {
            // A build of this tag that finished (so pushed) after this one was recorded first (records retried
            // through a database outage commit in any order): the registry's tag is that build's, and this one is
            // history, not the current image (a review's finding, 2026-12-07: it became current, and the tag's
            // rows could end before they began).
            // The row before it ends where it begins (records A, C, then B: A's row ran to C's start).
            db.sql("update image_tag set until = ? where repository = ? and tag = ? and since < ? and until > ?")
                    .params(at, b.repository(), b.tag(), at, at).update();
            // It ends where the next row of the tag begins (the current one, or a later record's history row).
            Timestamp next = db.sql("select min(since) from image_tag where repository = ? and tag = ? and since > ?")
                    .params(b.repository(), b.tag(), at).query(Timestamp.class).single();
            db.sql("insert into image_tag (repository, tag, digest, since, until) values (?, ?, ?, ?, ?)")
                    .params(b.repository(), b.tag(), b.imageDigest(), at, next).update();
            Map<String, Object> details = new LinkedHashMap<>();
            details.put("tag", b.tag());
            details.put("digest", b.imageDigest());
            details.put("supersededBy", previous.orElse(null));
            details.put("buildId", b.buildId().toString());
            events.publishEvent(new AuditRecord("image.tag-superseded", "image/" + b.repository() + ":" + b.tag(),
                    AuditRecord.Outcome.SUCCESS, details, RequestInfo.system()));
            return;
        }
        db.sql("update image_tag set until = ? where repository = ? and tag = ? and until is null")
                .params(at, b.repository(), b.tag()).update();
        db.sql("insert into image_tag (repository, tag, digest, since) values (?, ?, ?, ?)")
                .params(b.repository(), b.tag(), b.imageDigest(), at).update();
        Map<String, Object> details = new LinkedHashMap<>();
        details.put("tag", b.tag());
        details.put("from", previous.orElse(null));
        details.put("to", b.imageDigest());
        details.put("buildId", b.buildId().toString());
        events.publishEvent(new AuditRecord("image.tag-moved", "image/" + b.repository() + ":" + b.tag(),
                AuditRecord.Outcome.SUCCESS, details, RequestInfo.system()));
    }

    /** An inventory entry: an image and what is known about it. */
    public record Entry(String digest, String repository, String team, UUID buildId, Instant firstSeen,
            String baseRef, String baseDigest, String provenance) {
    }

    Optional<Entry> find(String digest) {
        return db.sql("""
                select digest, repository, team, build_id, first_seen, base_ref, base_digest, provenance
                from image where digest = ?
                """).param(digest).query(Inventory::entry).optional();
    }

    static Entry entry(ResultSet rs, int n) throws SQLException {
        return new Entry(rs.getString(1), rs.getString(2), rs.getString(3), rs.getObject(4, UUID.class),
                rs.getTimestamp(5).toInstant(), rs.getString(6), rs.getString(7), rs.getString(8));
    }

    /** Current tags of an image. */
    List<String> tags(String digest) {
        return db.sql("select tag from image_tag where digest = ? and until is null order by tag").param(digest)
                .query(String.class).list();
    }
}
