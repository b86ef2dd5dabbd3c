package io.buildgateway.builds;

import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.EnumType;
import jakarta.persistence.Enumerated;
import jakarta.persistence.Id;
import jakarta.persistence.Table;
import java.time.Instant;
import java.util.UUID;

/** A build row; also the queue entry while QUEUED, and the lease while RUNNING. */
@Entity
@Table(name = "build")
class Build {

    @Id
    UUID id;
    String image;
    String tag;
    String team;
    @Enumerated(EnumType.STRING)
    BuildStatus status;
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
    @Column(name = "userns_remap")
    Boolean usernsRemap;
    @Column(name = "network_mode")
    String networkMode;
    /** JSON array of the images the daemon pulled: {reference, digest, step}. */
    @Column(name = "pulled_images")
    String pulledImages;
    /** JSON array of the image references the policy approved this build to pull; null on rows older than V10. */
    @Column(name = "allowed_pulls")
    String allowedPulls;

    protected Build() {
    }

    Build(UUID id) {
        this.id = id;
    }
}
