package io.buildgateway.builds;

import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.EnumType;
import jakarta.persistence.Enumerated;
import jakarta.persistence.Id;
import jakarta.persistence.PostLoad;
import jakarta.persistence.PostPersist;
import jakarta.persistence.Table;
import jakarta.persistence.Transient;
import java.time.Duration;
import java.time.Instant;
import java.util.UUID;
import org.springframework.data.domain.Persistable;

/**
 * A build row; also the queue entry while QUEUED, and the lease while RUNNING. Its status changes only through the
 * transitions below, each of which refuses a build in the wrong state with {@link IllegalTransition}:
 *
 * <pre>
 *   (new) --queue--> QUEUED --claim--> RUNNING --finish--> SUCCEEDED | FAILED | CANCELLED
 *   (new) --reject--> REJECTED          RUNNING --expire--> FAILED (its lease lapsed: the replica running it stopped)
 *   QUEUED --cancel--> CANCELLED        RUNNING --cancel--> RUNNING, flagged (its worker stops it, then finish)
 *   RUNNING --requeue--> QUEUED (its lease lapsed on its first attempt and nothing of it reached the registry)
 * </pre>
 *
 * The claim is the start: one transaction takes the queue entry, picks the host and sets the lease, so there is no
 * state between them. The final states (SUCCEEDED, FAILED, REJECTED, CANCELLED) have no way out.
 *
 * <p>{@link Persistable}: the id is assigned here, so Spring Data cannot tell a new build from its id; without this a
 * submission's {@code save} was a {@code merge}, which first selects the row by id (one more round trip per
 * submission, issue #17 latency). A build made with {@link #Build(UUID)} is new until it is persisted; one Hibernate
 * loaded is not.
 */
@Entity
@Table(name = "build")
class Build implements Persistable<UUID> {

    @Id
    UUID id;
    String image;
    String tag;
    String team;
    @Enumerated(EnumType.STRING)
    private BuildStatus status;
    String phase;
    @Column(name = "requested_by")
    String requestedBy;
    @Column(name = "requested_at")
    Instant requestedAt;
    @Column(name = "started_at")
    Instant startedAt;
    @Column(name = "finished_at")
    Instant finishedAt;
    String host;
    @Column(name = "context_digest")
    String contextDigest;
    @Column(name = "context_size")
    long contextSize;
    /** The re-packed context the daemon received (canonical Dockerfile); null before V11 and for rejections. */
    @Column(name = "built_context_digest")
    String builtContextDigest;
    @Column(name = "built_context_size")
    Long builtContextSize;
    String dockerfile;
    String target;
    /** As stored and shown: public names' values as given, every other value as sha256:<hex> (issue #11). */
    @Column(name = "build_args")
    String buildArgs;
    /**
     * The real values, for the dispatcher only: never shown, never audited; the database clears them when the build
     * ends (V10's trigger), so they live only while the build is queued or running.
     */
    @Column(name = "build_arg_values")
    String buildArgValues;
    String labels;
    @Column(name = "no_cache")
    boolean noCache;
    @Column(name = "policy_digest")
    String policyDigest;
    String findings;
    @Column(name = "base_image")
    String baseImage;
    @Column(name = "image_id")
    String imageId;
    @Column(name = "image_digest")
    String imageDigest;
    @Column(name = "image_ref")
    String imageRef;
    @Column(name = "failure_reason")
    String failureReason;
    @Column(name = "rebuild_of")
    UUID rebuildOf;
    @Column(name = "cancel_requested")
    boolean cancelRequested;
    @Column(name = "lease_owner")
    String leaseOwner;
    @Column(name = "lease_expires_at")
    Instant leaseExpiresAt;
    /**
     * While a replica's lease recovery holds the build ({@link #takeOver}): the owner whose lease lapsed, kept when
     * a recovery that died is taken over in turn, so that the decision names the replica that was lost (V19).
     */
    @Column(name = "lost_lease_owner")
    String lostLeaseOwner;
    @Column(name = "userns_remap")
    Boolean usernsRemap;
    @Column(name = "network_mode")
    String networkMode;
    /** JSON array of the images the daemon pulled: {reference, digest, step}. */
    @Column(name = "pulled_images")
    String pulledImages;
    /**
     * The digest of the base's manifest whose config the policy judged, to which the build is pinned (V24); null for
     * scratch, a base not read, and rows older than V24.
     */
    @Column(name = "base_digest")
    String baseDigest;
    /** JSON array of the image references the policy approved this build to pull; null on rows older than V10. */
    @Column(name = "allowed_pulls")
    String allowedPulls;
    /**
     * JSON array of the FROM bases among {@link #allowedPulls}, as pulled (the rest are copy and mount sources); null on
     * rows older than V25. A record: the post-build check holds each name to its pins (docs/security.md).
     */
    @Column(name = "base_pulls")
    String basePulls;
    /** JSON array of the team's egress allowlist at submission (docs/egress.md); null or [] = network none. */
    @Column(name = "egress_allow")
    String egressAllow;
    @Column(name = "egress_refuse_tunnels")
    boolean egressRefuseTunnels;
    /** The earlier build of the same team whose fetches this one is pinned to; null when not pinned. */
    @Column(name = "pin_fetches_from")
    UUID pinFetchesFrom;
    /** How many times the build was claimed (V14): a build whose replica was lost is re-queued at most once. */
    int attempts = 1;
    /** True for a build made by the gateway and not yet persisted: {@code save} persists it without a select. */
    @Transient
    private boolean isNew;

    protected Build() {
    }

    Build(UUID id) {
        this.id = id;
        this.isNew = true;
    }

    @Override
    public UUID getId() {
        return id;
    }

    @Override
    public boolean isNew() {
        return isNew;
    }

    @PostPersist
    @PostLoad
    void persisted() {
        isNew = false;
    }

    /** The failure reason of a build whose replica stopped. */
    static final String LEASE_EXPIRED = "replica lost: the gateway replica running this build stopped renewing its"
            + " lease";

    /** How the lease owner names of a replica's lease recovery go on from the replica's own ({@link #takeOver}). */
    static final String RECOVERY = "/recovery";

    /** The most attempts a build gets: its first, and one more after its replica was lost (when that is safe). */
    static final int MAX_ATTEMPTS = 2;

    /** A transition asked of a build whose status does not allow it (a programming or a race outcome, never input). */
    static final class IllegalTransition extends IllegalStateException {
        private final BuildStatus from;
        private final String transition;

        IllegalTransition(UUID id, BuildStatus from, String transition) {
            super("build " + id + " cannot " + transition + " from " + (from == null ? "new" : from));
            this.from = from;
            this.transition = transition;
        }

        /** The status the build had; null for a build not yet recorded. */
        BuildStatus from() {
            return from;
        }

        String transition() {
            return transition;
        }
    }

    /** The status; it changes only through the transitions below. */
    BuildStatus status() {
        return status;
    }

    /**
     * A detached copy of a row as read for a view (a status read without Hibernate, {@code BuildSubmissions}), with
     * the status the row has: never saved, so no transition is skipped by making it.
     */
    static Build readOnly(UUID id, BuildStatus status) {
        Build b = new Build(id);
        b.isNew = false;
        b.status = status;
        return b;
    }

    private void require(String transition, BuildStatus expected) {
        if (status != expected) {
            throw new IllegalTransition(id, status, transition);
        }
    }

    /** A new submission the policy passed enters the queue. */
    void queue() {
        require("queue", null);
        status = BuildStatus.QUEUED;
    }

    /** A new submission the policy refused is recorded as ended. */
    void reject(String reason, Instant at) {
        require("reject", null);
        status = BuildStatus.REJECTED;
        finishedAt = at;
        failureReason = reason;
    }

    /** The dispatcher takes a queued build for {@code host} and starts it, holding a lease that it renews. */
    void claim(String onHost, String owner, Instant at, Duration lease) {
        require("claim", BuildStatus.QUEUED);
        status = BuildStatus.RUNNING;
        phase = "BUILDING";
        host = onHost;
        startedAt = at;
        leaseOwner = owner;
        leaseExpiresAt = at.plus(lease);
    }

    /** The worker records how a running build ended; the lease is released. */
    void finish(BuildStatus outcome, String reason, Instant at) {
        if (outcome != BuildStatus.SUCCEEDED && outcome != BuildStatus.FAILED && outcome != BuildStatus.CANCELLED) {
            throw new IllegalArgumentException("a running build ends SUCCEEDED, FAILED or CANCELLED, not " + outcome);
        }
        require("finish", BuildStatus.RUNNING);
        end(outcome, reason, at);
    }

    /**
     * A running build whose lease lapsed (its replica stopped renewing it) is failed; the lease is released. A lease
     * still valid at {@code now} is refused: its owner may still be running the build.
     */
    void expire(Instant now) {
        expire(now, LEASE_EXPIRED);
    }

    /** As {@link #expire(Instant)}, with a reason that says more (why it was not re-queued). */
    void expire(Instant now, String reason) {
        expire(now, reason, null);
    }

    /**
     * As {@link #expire(Instant, String)} by the replica that took the lapsed lease over to recover the build
     * ({@link #takeOver}): its own lease does not stop it.
     */
    void expire(Instant now, String reason, String recoverer) {
        require("expire", BuildStatus.RUNNING);
        requireLapsedOrHeldBy("expire", now, recoverer);
        end(BuildStatus.FAILED, reason, now);
    }

    /**
     * A replica takes over the lapsed lease of a running build to recover it (its replica was lost): the build stays
     * RUNNING under a lease of the recovering replica's, so that the lost replica, should it come back, finds its
     * lease gone and stops, and no other replica recovers the build at the same time, while the recovering replica
     * asks the registry and the host what the lost run left, outside any transaction. It then re-queues or expires
     * the build ({@link #requeue(Instant, String)}, {@link #expire(Instant, String, String)}); should it die first,
     * its own lease lapses and another replica takes the build over. Refused while the lease runs.
     */
    void takeOver(String recoverer, Instant now, Duration lease) {
        require("take over", BuildStatus.RUNNING);
        requireLapsedOrHeldBy("take over", now, null);
        if (lostLeaseOwner == null) {
            lostLeaseOwner = leaseOwner;
        }
        leaseOwner = recoverer;
        leaseExpiresAt = now.plus(lease);
    }

    /** A transition of a lost build: refused while a lease runs, unless the recovering replica holds it. */
    private void requireLapsedOrHeldBy(String transition, Instant now, String recoverer) {
        if (leaseExpiresAt != null && !leaseExpiresAt.isBefore(now)
                && (recoverer == null || !recoverer.equals(leaseOwner))) {
            throw new IllegalTransition(id, status, transition + " while its lease runs until " + leaseExpiresAt);
        }
    }

    /**
     * A running build whose lease lapsed goes back to the queue for one more attempt: its replica was lost and the
     * caller checked that nothing of it reached the registry (docs/operations.md, "Faults and recovery"). Refused
     * while the lease runs, and for a build that already had its second attempt: that one is expired instead.
     */
    void requeue(Instant now) {
        requeue(now, null);
    }

    /** As {@link #requeue(Instant)} by the replica that took the lapsed lease over ({@link #takeOver}). */
    void requeue(Instant now, String recoverer) {
        require("requeue", BuildStatus.RUNNING);
        requireLapsedOrHeldBy("requeue", now, recoverer);
        if (attempts >= MAX_ATTEMPTS) {
            throw new IllegalTransition(id, status, "requeue after " + attempts + " attempts");
        }
        attempts++;
        status = BuildStatus.QUEUED;
        phase = null;
        host = null;
        startedAt = null;
        leaseOwner = null;
        leaseExpiresAt = null;
        lostLeaseOwner = null;
    }

    /** A running build ends: its outcome and time recorded, its phase and lease released. */
    private void end(BuildStatus outcome, String reason, Instant at) {
        status = outcome;
        phase = null;
        finishedAt = at;
        failureReason = reason;
        leaseOwner = null;
        leaseExpiresAt = null;
        lostLeaseOwner = null;
    }

    /**
     * A cancel request. A queued build ends here (true); a running one is flagged for its worker, which stops it on
     * its host and then finishes it CANCELLED (false). An ended build cannot be cancelled.
     */
    boolean cancel(String actor, Instant at) {
        if (status == BuildStatus.QUEUED) {
            cancelRequested = true;
            status = BuildStatus.CANCELLED;
            finishedAt = at;
            failureReason = "cancelled before it started by " + actor;
            return true;
        }
        require("cancel", BuildStatus.RUNNING);
        cancelRequested = true;
        return false;
    }
}
