package io.buildgateway.builds;

import io.buildgateway.shared.PeriodicTasks;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.context.event.ApplicationReadyEvent;
import org.springframework.context.event.EventListener;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Component;

/**
 * A team's submissions under way on <em>every</em> replica, in the database (issue #17, load). {@link
 * QuotaReservations} lets a replica's check before the upload count the team's submissions under way on the same
 * replica; the other replicas' were invisible to it, so two replicas together admitted up to twice a team's free
 * slots to the upload, the policy check and the re-pack, and the exact count under the team's lock refused the excess
 * only then: 3–23 such late refusals per load run on 2026-12-06, most of them in the first minute's burst, each after
 * ~300 ms of that work (docs/benchmarks.md). Now the check reserves a row here in the statement that counts the queue,
 * and counts the other replicas' rows that reserved before it.
 *
 * <p>A row counts for the other replicas while its build has no row yet and it has not expired: once the build is
 * recorded (QUEUED, or REJECTED) the build row counts instead, in the same commit, so a recorded build is never counted
 * twice and no delete is needed on the submission's own path. A submission that ends without a build row (refused,
 * broken upload) deletes its row; if that delete fails, or the replica dies, the row stops counting after a lease
 * ({@code gateway.builds.lease}, as a dead replica's builds are recovered), and the purge removes it. A replica's own
 * rows are not counted here: {@link QuotaReservations} counts them in memory. The exact decision stays the count under
 * the team's lock: this only refuses before the upload what that count would refuse.
 */
@Component
class SharedQuotaReservations implements PeriodicTasks.Owner {

    private static final Logger log = LoggerFactory.getLogger(SharedQuotaReservations.class);

    /** The other replicas' rows of a team that reserved before {@code ticket}, still under way and not expired. */
    private static final String PEERS_BEFORE = "(select count(*) from quota_reservation r where r.team = ?"
            + " and r.replica <> ? and r.ticket < %s and r.expires_at > now()"
            + " and not exists (select 1 from build b where b.id = r.build_id))";

    private static final String RESERVE = "with mine as (insert into quota_reservation (team, build_id, replica,"
            + " expires_at) values (?, ?, ?, now() + ? * interval '1 millisecond') returning ticket),"
            + " q as (select count(*) as queued, count(*) filter (where team = ?) as queued_for_team from build"
            + " where status = 'QUEUED')"
            + " select q.queued, q.queued_for_team, " + PEERS_BEFORE.formatted("mine.ticket") + " as peers,"
            + " mine.ticket from q, mine";

    private static final String RECOUNT = "with refreshed as (update quota_reservation set expires_at = now() + ?"
            + " * interval '1 millisecond' where ticket = ?)"
            + " select (select count(*) from build where status = 'QUEUED' and team = ?) + "
            + PEERS_BEFORE.formatted("?");

    private final JdbcTemplate jdbc;
    private final String replica;
    private final long ttlMillis;
    private final ScheduledExecutorService purger;
    private final PeriodicTasks periodic;

    SharedQuotaReservations(JdbcTemplate jdbc, BuildProperties properties, BuildDispatcher dispatcher) {
        this.jdbc = jdbc;
        this.replica = dispatcher.replica(); // one name per replica in the database: its builds' lease owner too
        this.ttlMillis = properties.lease().toMillis();
        this.purger = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "quota-purge");
            t.setDaemon(true);
            return t;
        });
        this.periodic = new PeriodicTasks(purger).every(properties.leaseCheckInterval(),
                properties.leaseCheckInterval(), this::purgeSafely);
    }

    /** The queue's counts at a submission's check before the upload, and the row it reserved. */
    record Counts(long queued, long queuedForTeam, long peersBefore, long ticket) {
    }

    /**
     * Reserves a slot of the team's quota for the build {@code buildId} about to be submitted, and counts, in one
     * statement: the queued builds in all and of the team, and the other replicas' submissions of the team under way
     * that reserved before this one.
     */
    Counts reserve(String team, UUID buildId) {
        return jdbc.queryForObject(RESERVE, (rs, n) -> new Counts(rs.getLong(1), rs.getLong(2), rs.getLong(3),
                rs.getLong(4)), team, buildId, replica, ttlMillis, team, team, replica);
    }

    /**
     * After the upload: the team's queued builds and the other replicas' submissions under way that reserved before
     * {@code ticket}; the reservation's expiry starts again (an upload may take a while).
     */
    long recount(String team, long ticket) {
        Long n = jdbc.queryForObject(RECOUNT, Long.class, ttlMillis, ticket, team, team, replica, ticket);
        return n == null ? 0 : n;
    }

    /** Ends a reservation whose submission has no build row: a failure here only leaves it to expire. */
    void release(long ticket) {
        try {
            jdbc.update("delete from quota_reservation where ticket = ?", ticket);
        } catch (RuntimeException e) {
            log.debug("reservation {} not deleted ({}); it expires after {} ms", ticket, e.toString(), ttlMillis);
        }
    }

    /** Removes the rows that no longer count: their build is recorded, or they expired. */
    int purge() {
        return jdbc.update("delete from quota_reservation where expires_at < now()"
                + " or exists (select 1 from build b where b.id = build_id)");
    }

    private void purgeSafely() {
        try {
            purge();
        } catch (RuntimeException e) {
            log.debug("quota reservations not purged: {}", e.toString());
        }
    }

    @Override
    public PeriodicTasks periodicTasks() {
        return periodic;
    }

    @EventListener(ApplicationReadyEvent.class)
    void ready() {
        periodic.ready();
    }

    @jakarta.annotation.PreDestroy
    void close() {
        purger.shutdownNow();
    }
}
