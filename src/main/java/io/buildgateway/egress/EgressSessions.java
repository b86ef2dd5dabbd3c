package io.buildgateway.egress;

import java.util.List;
import java.util.Optional;
import java.util.UUID;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Service;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * Where each open egress session lives ({@code egress_session}, V15): written when a session opens, closed when it
 * closes, read by a replica that receives credentials for a session it does not hold (docs/egress.md, "Several
 * replicas"). Holds the SHA-256 of the secret, never the secret.
 */
@Service
public class EgressSessions {

    private final JdbcTemplate jdbc;
    private final TransactionTemplate tx;

    EgressSessions(JdbcTemplate jdbc, TransactionTemplate tx) {
        this.jdbc = jdbc;
        this.tx = tx;
    }

    /** The session's row, replacing the one of an earlier run of the same build (re-queued after its replica died). */
    void opened(UUID build, String peerAddress, String secretSha256) {
        tx.executeWithoutResult(s -> jdbc.update("insert into egress_session (build_id, peer_address, secret_sha256,"
                + " opened_at) values (?, ?, ?, now()) on conflict (build_id) do update set peer_address ="
                + " excluded.peer_address, secret_sha256 = excluded.secret_sha256, opened_at = excluded.opened_at,"
                + " closed_at = null", build, peerAddress, secretSha256));
    }

    /**
     * Closes the session's row: only its own (by the hash), so that a run that lost its lease and closes late does
     * not close the row of the build's next run on another replica.
     */
    void closed(UUID build, String secretSha256) {
        tx.executeWithoutResult(s -> jdbc.update("update egress_session set closed_at = now() where build_id = ?"
                + " and secret_sha256 = ? and closed_at is null", build, secretSha256));
    }

    /**
     * The replica holding the build's open session, if a relay to it may be considered at all: the session is not
     * closed, the build is RUNNING and its lease has not lapsed by the database's clock (the one clock leases are
     * judged by, docs/operations.md "Clock skew"), and the lease is its run's, not a lease recovery's (an owner
     * ending {@code /recovery/<suffix>}, builds.Build#takeOver: the run it would relay to was lost). The caller still
     * compares the secret's hash.
     */
    Optional<EgressRelay.Holder> holder(UUID build) {
        List<EgressRelay.Holder> rows = jdbc.query("select s.peer_address, s.secret_sha256 from egress_session s"
                + " join build b on b.id = s.build_id where s.build_id = ? and s.closed_at is null"
                + " and b.status = 'RUNNING' and b.lease_expires_at > now() and b.lease_owner not like '%/recovery/%'",
                (rs, i) -> new EgressRelay.Holder(rs.getString(1), rs.getString(2)), build);
        return rows.stream().findFirst();
    }
}
