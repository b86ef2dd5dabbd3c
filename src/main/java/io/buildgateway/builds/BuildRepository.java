package io.buildgateway.builds;

import java.time.Instant;
import jakarta.persistence.LockModeType;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import org.springframework.data.jpa.repository.JpaRepository;
import org.springframework.data.jpa.repository.JpaSpecificationExecutor;
import org.springframework.data.jpa.repository.Lock;
import org.springframework.data.jpa.repository.Modifying;
import org.springframework.data.jpa.repository.Query;

interface BuildRepository extends JpaRepository<Build, UUID>, JpaSpecificationExecutor<Build> {

    long countByStatus(BuildStatus status);

    long countByStatusAndTeam(BuildStatus status, String team);


    /** Whether a build other than a rejected one still refers to this uploaded context (the store is by content). */
    boolean existsByContextDigestAndStatusNot(String contextDigest, BuildStatus status);

    /** Serialises scheduling decisions across replicas for the rest of the transaction. */
    @Query(value = "select pg_advisory_xact_lock(:key) is not null", nativeQuery = true)
    boolean claimLock(long key);

    /**
     * The repository ({@code team/name}), the approved pulls (a JSON array; null on rows older than V10), the base
     * image, the id (text) and the attempt of every other build (or another attempt of this one) running on
     * {@code host}: the team images a shared host must keep named while those builds may still pull or push them
     * (their quarantine copies included).
     */
    @Query(value = "select image, allowed_pulls, base_image, cast(id as text), attempts from build"
            + " where status = 'RUNNING' and host = :host and not (id = :id and attempts = :attempt)",
            nativeQuery = true)
    List<Object[]> runningOnHostBesides(String host, UUID id, int attempt);

    /** As {@link #runningOnHostBesides}, every build running on {@code host} (no build has the nil id). */
    default List<Object[]> runningOnHost(String host) {
        return runningOnHostBesides(host, new UUID(0, 0), 0);
    }

    /**
     * Takes the lock for the rest of the transaction if no other transaction holds it; false (at once) when one does:
     * a periodic job that one replica runs at a time skips its round instead of waiting.
     */
    @Query(value = "select pg_try_advisory_xact_lock(:key)", nativeQuery = true)
    boolean tryLock(long key);

    @Query("select b.host, count(b) from Build b where b.status = io.buildgateway.builds.BuildStatus.RUNNING"
            + " and b.host is not null group by b.host")
    List<Object[]> activeByHost();

    /**
     * The next queued build nobody else is claiming right now: developers' builds before rebuilds, then fair share
     * between teams (the build of the team that runs the fewest builds right now), then oldest first; rebuilds only
     * when {@code rebuildsAllowed}. So a team that floods the queue takes the free slots only while no other team
     * waits: another team's single build waits for one slot at most (issue #17, "Load"). Claims are serialised by
     * {@link #claimLock}, so the running counts are the committed ones.
     */
    @Query(value = "select * from build q where q.status = 'QUEUED' and (:rebuildsAllowed or q.rebuild_of is null)"
            + " order by (q.rebuild_of is not null),"
            + " (select count(*) from build r where r.status = 'RUNNING' and r.team = q.team),"
            + " q.requested_at, q.id limit 1 for update skip locked", nativeQuery = true)
    List<Build> claimNext(boolean rebuildsAllowed);

    /**
     * The claim's candidates when hosts are isolated by team: the oldest queued build of each team (its developers'
     * builds and its rebuilds apart), as {@code team, rebuild}, in {@link #claimNext}'s order (developers' builds
     * first, then the team that runs the fewest builds) with one more tie-break before the oldest: among teams that
     * run as many builds, the team that started a build least recently (in the last day; none: first; by
     * started_at, so a flood requested more than a day ago still counts its starts: a review's find). A host of one team at a time cannot give a waiting team the next slot beside the others: when the
     * host a waiting team kept (hostpool.TeamPlacement) has drained, both that team and the flooding one that ran
     * there run nothing, and by age alone the flood's older build would take the host again, every time. The claim
     * gives the first group a host admits its host and takes that group's oldest build with {@link #claimNextOf}.
     */
    @Query(value = "select f.team, f.rebuild from (select distinct on (q.team, q.rebuild_of is not null) q.team,"
            + " q.rebuild_of is not null as rebuild, q.requested_at, q.id from build q where q.status = 'QUEUED'"
            + " and (:rebuildsAllowed or q.rebuild_of is null)"
            + " order by q.team, q.rebuild_of is not null, q.requested_at, q.id) f"
            + " order by f.rebuild, (select count(*) from build r where r.status = 'RUNNING' and r.team = f.team),"
            + " (select max(r.started_at) from build r where r.team = f.team"
            + " and r.started_at > now() - interval '1 day') nulls first,"
            + " f.requested_at, f.id", nativeQuery = true)
    List<Object[]> claimCandidates(boolean rebuildsAllowed);

    /**
     * The {@code n} oldest queued builds of {@code team} (rebuilds or not) nobody else is claiming right now,
     * locked.
     */
    @Query(value = "select * from build q where q.status = 'QUEUED' and q.team = :team"
            + " and (q.rebuild_of is not null) = :rebuild order by q.requested_at, q.id limit :n"
            + " for update skip locked", nativeQuery = true)
    List<Build> claimNextOf(String team, boolean rebuild, int n);

    /** The builds running on each host, by team: {@code host, team, count}. */
    @Query(value = "select host, team, count(*) from build where status = 'RUNNING' and host is not null"
            + " group by host, team", nativeQuery = true)
    List<Object[]> runningByHostAndTeam();

    @Query(value = "select count(*) from build where status = 'RUNNING' and rebuild_of is not null", nativeQuery = true)
    long runningRebuilds();

    /**
     * One running build whose lease lapsed, the longest lapsed first, locked; one another replica is deciding (locked)
     * is passed over. The lease recovery takes them over one at a time ({@link Build#takeOver}).
     */
    @Query(value = "select * from build where status = 'RUNNING' and lease_expires_at < :now"
            + " order by lease_expires_at limit 1 for update skip locked", nativeQuery = true)
    Optional<Build> nextExpiredLease(Instant now);

    /**
     * The database's clock, in microseconds since the epoch: leases are set, renewed and judged by this one clock
     * (docs/operations.md, "Clock skew"), so replicas whose own clocks disagree still agree on when a lease lapsed.
     * {@code clock_timestamp()}, not {@code now()}: a long transaction must not see an old time.
     */
    @Query(value = "select cast(floor(extract(epoch from clock_timestamp()) * 1000000) as bigint)", nativeQuery = true)
    long databaseMicros();

    default Instant databaseNow() {
        return Instant.EPOCH.plus(databaseMicros(), java.time.temporal.ChronoUnit.MICROS);
    }

    /**
     * The build, locked for a transition: a concurrent one (a worker finishing, another replica expiring the lease,
     * a cancel) waits for it and then sees the status it left, so the entity's transitions are decided on the
     * committed status, never on a copy read before.
     */
    @Lock(LockModeType.PESSIMISTIC_WRITE)
    @Query("select b from Build b where b.id = :id")
    Optional<Build> lockById(UUID id);

    @Modifying
    @Query("update Build b set b.leaseExpiresAt = :until where b.id = :id and b.leaseOwner = :owner"
            + " and b.attempts = :attempt and b.status = io.buildgateway.builds.BuildStatus.RUNNING")
    int heartbeat(UUID id, String owner, int attempt, Instant until);

    /**
     * A run's renewal of its own lease: as {@link #heartbeat}, with the new expiry taken from the database's clock
     * when the row is written, not before. An expiry computed before the update waited for the row's lock (held by a
     * cancel, a recovery, a stalled transaction) was already partly spent when it committed: after a wait longer than
     * the lease, the renewal wrote an expired lease that the next recovery pass took over (a review's find,
     * 2026-12-07).
     */
    @Modifying
    @Query(value = "update build set lease_expires_at = clock_timestamp() + :leaseMicros * interval '1 microsecond'"
            + " where id = :id and lease_owner = :owner and attempts = :attempt and status = 'RUNNING'",
            nativeQuery = true)
    int renewLease(UUID id, String owner, int attempt, long leaseMicros);

    @Query("select b.cancelRequested from Build b where b.id = :id")
    Boolean cancelRequested(UUID id);
}
