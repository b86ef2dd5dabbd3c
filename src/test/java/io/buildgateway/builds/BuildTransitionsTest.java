package io.buildgateway.builds;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The build's state machine: every transition from every status, legal ones with their effects. */
class BuildTransitionsTest {

    private static final Instant T0 = Instant.parse("2026-12-02T08:00:00Z");
    private static final Duration LEASE = Duration.ofSeconds(60);
    /** After the lease taken at T0 lapsed. */
    private static final Instant LAPSED = T0.plus(LEASE).plusMillis(1);

    enum Transition {
        QUEUE(b -> b.queue()),
        REJECT(b -> b.reject("rejected by policy: 1 error finding(s)", T0)),
        CLAIM(b -> b.claim("host1", "replica-a", T0, LEASE)),
        FINISH_SUCCEEDED(b -> b.finish(BuildStatus.SUCCEEDED, null, LAPSED)),
        FINISH_FAILED(b -> b.finish(BuildStatus.FAILED, "step 2 exited 1", LAPSED)),
        FINISH_CANCELLED(b -> b.finish(BuildStatus.CANCELLED, "cancelled by alice", LAPSED)),
        EXPIRE(b -> b.expire(LAPSED)),
        REQUEUE(b -> b.requeue(LAPSED)),
        TAKE_OVER(b -> b.takeOver("replica-b/recovery", LAPSED, LEASE)),
        CANCEL(b -> b.cancel("alice", LAPSED));

        final Consumer<Build> apply;

        Transition(Consumer<Build> apply) {
            this.apply = apply;
        }
    }

    /** The status each legal transition leads to, by starting status (null: a new build); absent: refused. */
    private static final Map<Transition, BuildStatus> FROM_NEW = Map.of(
            Transition.QUEUE, BuildStatus.QUEUED,
            Transition.REJECT, BuildStatus.REJECTED);
    private static final Map<BuildStatus, Map<Transition, BuildStatus>> LEGAL = new EnumMap<>(Map.of(
            BuildStatus.QUEUED, Map.of(
                    Transition.CLAIM, BuildStatus.RUNNING,
                    Transition.CANCEL, BuildStatus.CANCELLED),
            BuildStatus.RUNNING, Map.of(
                    Transition.FINISH_SUCCEEDED, BuildStatus.SUCCEEDED,
                    Transition.FINISH_FAILED, BuildStatus.FAILED,
                    Transition.FINISH_CANCELLED, BuildStatus.CANCELLED,
                    Transition.EXPIRE, BuildStatus.FAILED,
                    Transition.REQUEUE, BuildStatus.QUEUED,
                    Transition.TAKE_OVER, BuildStatus.RUNNING,
                    Transition.CANCEL, BuildStatus.RUNNING),
            BuildStatus.SUCCEEDED, Map.of(),
            BuildStatus.FAILED, Map.of(),
            BuildStatus.REJECTED, Map.of(),
            BuildStatus.CANCELLED, Map.of()));

    /** A build in {@code status}, reached through legal transitions only. */
    private static Build in(BuildStatus status) {
        Build b = new Build(UUID.randomUUID());
        if (status == null) {
            return b;
        }
        switch (status) {
            case REJECTED -> b.reject("rejected by policy: 1 error finding(s)", T0);
            case QUEUED -> b.queue();
            case CANCELLED -> {
                b.queue();
                b.cancel("alice", T0);
            }
            default -> {
                b.queue();
                b.claim("host1", "replica-a", T0, LEASE);
                if (status != BuildStatus.RUNNING) {
                    b.finish(status, status == BuildStatus.FAILED ? "step 2 exited 1" : null, LAPSED);
                }
            }
        }
        assertThat(b.status()).isEqualTo(status);
        return b;
    }

    static Stream<Arguments> everyPair() {
        List<Arguments> pairs = new ArrayList<>();
        List<BuildStatus> from = new ArrayList<>(Arrays.asList(BuildStatus.values()));
        from.add(0, null);
        for (BuildStatus status : from) {
            Map<Transition, BuildStatus> legal = status == null ? FROM_NEW : LEGAL.get(status);
            for (Transition t : Transition.values()) {
                pairs.add(Arguments.of(status, t, legal.get(t)));
            }
        }
        return pairs.stream();
    }

    @ParameterizedTest(name = "{0} --{1}--> {2}")
    @MethodSource("everyPair")
    void everyTransitionFromEveryStatusIsLegalOrRefusedAndRefusalChangesNothing(BuildStatus from, Transition t,
            BuildStatus expected) {
        Build b = in(from);
        if (expected != null) {
            t.apply.accept(b);
            assertThat(b.status()).isEqualTo(expected);
            return;
        }
        List<Object> before = snapshot(b);
        assertThatThrownBy(() -> t.apply.accept(b)).isInstanceOf(Build.IllegalTransition.class)
                .hasMessageContaining("cannot").hasMessageContaining(from == null ? "from new" : "from " + from)
                .satisfies(e -> assertThat(((Build.IllegalTransition) e).from()).isEqualTo(from));
        assertThat(snapshot(b)).as("a refused transition leaves the build as it was").isEqualTo(before);
    }

    @Test
    void theTableCoversEveryStatusAndEveryFinalStatusHasNoWayOut() {
        assertThat(LEGAL.keySet()).containsExactlyInAnyOrder(BuildStatus.values());
        LEGAL.forEach((status, legal) -> assertThat(legal.isEmpty()).as("%s", status).isEqualTo(status.isFinal()));
        assertThat(everyPair()).hasSize((BuildStatus.values().length + 1) * Transition.values().length);
    }

    @Test
    void claimStartsTheBuildOnItsHostWithALease() {
        Build b = in(BuildStatus.QUEUED);
        b.claim("host2", "replica-b", T0, LEASE);
        assertThat(b.phase).isEqualTo("BUILDING");
        assertThat(b.host).isEqualTo("host2");
        assertThat(b.startedAt).isEqualTo(T0);
        assertThat(b.leaseOwner).isEqualTo("replica-b");
        assertThat(b.leaseExpiresAt).isEqualTo(T0.plus(LEASE));
    }

    @Test
    void finishRecordsTheOutcomeAndReleasesTheLease() {
        Build b = in(BuildStatus.RUNNING);
        b.finish(BuildStatus.FAILED, "step 2 exited 1", LAPSED);
        assertThat(b.phase).isNull();
        assertThat(b.finishedAt).isEqualTo(LAPSED);
        assertThat(b.failureReason).isEqualTo("step 2 exited 1");
        assertThat(b.leaseOwner).isNull();
        assertThat(b.leaseExpiresAt).isNull();
        assertThat(b.host).as("where it ran stays on the record").isEqualTo("host1");
    }

    @Test
    void aRunningBuildEndsOnlySucceededFailedOrCancelled() {
        for (BuildStatus not : List.of(BuildStatus.QUEUED, BuildStatus.RUNNING, BuildStatus.REJECTED)) {
            Build b = in(BuildStatus.RUNNING);
            assertThatThrownBy(() -> b.finish(not, "x", LAPSED)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining(not.name());
            assertThat(b.status()).isEqualTo(BuildStatus.RUNNING);
        }
    }

    @Test
    void expireFailsOnlyABuildWhoseLeaseLapsed() {
        Build running = in(BuildStatus.RUNNING);
        assertThatThrownBy(() -> running.expire(T0.plus(LEASE))).isInstanceOf(Build.IllegalTransition.class)
                .hasMessageContaining("lease runs until " + T0.plus(LEASE));
        assertThat(running.status()).isEqualTo(BuildStatus.RUNNING);
        assertThat(running.leaseOwner).isEqualTo("replica-a");

        running.expire(LAPSED);
        assertThat(running.status()).isEqualTo(BuildStatus.FAILED);
        assertThat(running.failureReason).isEqualTo(Build.LEASE_EXPIRED);
        assertThat(running.finishedAt).isEqualTo(LAPSED);
        assertThat(running.leaseOwner).isNull();
        assertThat(running.leaseExpiresAt).isNull();
    }

    @Test
    void theWorkerOfAnExpiredBuildCannotOverwriteTheFailure() {
        Build b = in(BuildStatus.RUNNING);
        b.expire(LAPSED);
        assertThatThrownBy(() -> b.finish(BuildStatus.SUCCEEDED, null, LAPSED.plusSeconds(5)))
                .isInstanceOf(Build.IllegalTransition.class).hasMessageContaining("cannot finish from FAILED");
        assertThat(b.failureReason).isEqualTo(Build.LEASE_EXPIRED);
    }

    @Test
    void requeueGivesABuildWhoseLeaseLapsedOneMoreAttemptOnly() {
        Build b = in(BuildStatus.RUNNING);
        assertThatThrownBy(() -> b.requeue(T0.plus(LEASE))).isInstanceOf(Build.IllegalTransition.class)
                .hasMessageContaining("lease runs until");
        assertThat(b.status()).isEqualTo(BuildStatus.RUNNING);

        b.requeue(LAPSED);
        assertThat(b.status()).isEqualTo(BuildStatus.QUEUED);
        assertThat(b.attempts).isEqualTo(2);
        assertThat(b.host).isNull();
        assertThat(b.startedAt).isNull();
        assertThat(b.leaseOwner).isNull();
        assertThat(b.leaseExpiresAt).isNull();
        assertThat(b.finishedAt).isNull();
        assertThat(b.failureReason).isNull();

        Instant again = LAPSED.plusSeconds(1);
        b.claim("host2", "replica-b", again, LEASE);
        Instant lapsedAgain = again.plus(LEASE).plusMillis(1);
        assertThatThrownBy(() -> b.requeue(lapsedAgain)).isInstanceOf(Build.IllegalTransition.class)
                .hasMessageContaining("after 2 attempts");
        assertThat(b.status()).isEqualTo(BuildStatus.RUNNING);
        assertThat(b.attempts).isEqualTo(2);
        b.expire(lapsedAgain, Build.LEASE_EXPIRED + "; not re-queued: its second attempt");
        assertThat(b.status()).isEqualTo(BuildStatus.FAILED);
        assertThat(b.failureReason).startsWith("replica lost");
    }

    /**
     * The lease recovery takes a lapsed lease over before it asks the registry and the host: the lost owner's lease
     * is gone, no one else may take it while the recovery's runs, and only the recovery may then decide the build.
     */
    @Test
    void takeOverHoldsALapsedLeaseForTheRecoveryAloneWhichThenDecides() {
        Build b = in(BuildStatus.RUNNING);
        assertThatThrownBy(() -> b.takeOver("replica-b/recovery", T0.plus(LEASE), LEASE))
                .isInstanceOf(Build.IllegalTransition.class).hasMessageContaining("take over while its lease runs");
        assertThat(b.leaseOwner).isEqualTo("replica-a");

        b.takeOver("replica-b/recovery", LAPSED, LEASE);
        assertThat(b.status()).isEqualTo(BuildStatus.RUNNING);
        assertThat(b.leaseOwner).isEqualTo("replica-b/recovery");
        assertThat(b.lostLeaseOwner).as("the owner that was lost").isEqualTo("replica-a");
        assertThat(b.leaseExpiresAt).isEqualTo(LAPSED.plus(LEASE));
        assertThat(b.attempts).as("a take-over is no attempt").isEqualTo(1);
        assertThat(b.host).isEqualTo("host1");

        Instant during = LAPSED.plusSeconds(5);
        List<Object> held = snapshot(b);
        for (Consumer<Build> other : List.<Consumer<Build>>of(
                x -> x.takeOver("replica-c/recovery", during, LEASE),
                x -> x.requeue(during),
                x -> x.expire(during),
                x -> x.requeue(during, "replica-c/recovery"),
                x -> x.expire(during, "replica lost", "replica-c/recovery"))) {
            assertThatThrownBy(() -> other.accept(b)).isInstanceOf(Build.IllegalTransition.class)
                    .hasMessageContaining("while its lease runs until " + LAPSED.plus(LEASE));
            assertThat(snapshot(b)).isEqualTo(held);
        }

        Build requeued = in(BuildStatus.RUNNING);
        requeued.takeOver("replica-b/recovery", LAPSED, LEASE);
        requeued.requeue(during, "replica-b/recovery");
        assertThat(requeued.status()).isEqualTo(BuildStatus.QUEUED);
        assertThat(requeued.attempts).isEqualTo(2);
        assertThat(requeued.leaseOwner).isNull();
        assertThat(requeued.lostLeaseOwner).isNull();

        b.expire(during, Build.LEASE_EXPIRED + "; not re-queued: it had been asked to cancel", "replica-b/recovery");
        assertThat(b.status()).isEqualTo(BuildStatus.FAILED);
        assertThat(b.leaseOwner).isNull();
        assertThat(b.lostLeaseOwner).isNull();

        // A recovery that died: its own lease lapses, and another replica takes the build over.
        Build orphan = in(BuildStatus.RUNNING);
        orphan.takeOver("replica-b/recovery", LAPSED, LEASE);
        Instant recoveryLapsed = LAPSED.plus(LEASE).plusMillis(1);
        orphan.takeOver("replica-c/recovery", recoveryLapsed, LEASE);
        assertThat(orphan.leaseOwner).isEqualTo("replica-c/recovery");
        assertThat(orphan.lostLeaseOwner).as("still the replica that was lost, not the recovery that died")
                .isEqualTo("replica-a");
        assertThatThrownBy(() -> orphan.requeue(recoveryLapsed.plusSeconds(1), "replica-b/recovery"))
                .isInstanceOf(Build.IllegalTransition.class);
    }

    @Test
    void cancelEndsAQueuedBuildAndFlagsARunningOne() {
        Build queued = in(BuildStatus.QUEUED);
        assertThat(queued.cancel("alice", LAPSED)).isTrue();
        assertThat(queued.cancelRequested).isTrue();
        assertThat(queued.finishedAt).isEqualTo(LAPSED);
        assertThat(queued.failureReason).isEqualTo("cancelled before it started by alice");

        Build running = in(BuildStatus.RUNNING);
        assertThat(running.cancel("alice", LAPSED)).isFalse();
        assertThat(running.status()).isEqualTo(BuildStatus.RUNNING);
        assertThat(running.cancelRequested).isTrue();
        assertThat(running.finishedAt).isNull();
        assertThat(running.leaseOwner).isEqualTo("replica-a");
    }

    @Test
    void rejectRecordsTheReasonAndTheEnd() {
        Build b = in(null);
        b.reject("rejected by policy on rebuild", T0);
        assertThat(b.finishedAt).isEqualTo(T0);
        assertThat(b.failureReason).isEqualTo("rejected by policy on rebuild");
        assertThat(b.startedAt).isNull();
    }

    private static List<Object> snapshot(Build b) {
        return Arrays.asList(b.status(), b.phase, b.host, b.startedAt, b.finishedAt, b.failureReason, b.leaseOwner,
                b.leaseExpiresAt, b.cancelRequested, b.attempts, b.lostLeaseOwner);
    }

    /** A build the gateway makes is new (persisted without a select) until persisted; one Hibernate loads is not. */
    @Test
    void aBuildMadeHereIsNewUntilPersistedALoadedOneIsNot() {
        UUID id = UUID.randomUUID();
        Build made = new Build(id);
        assertThat(made.isNew()).isTrue();
        assertThat(made.getId()).isEqualTo(id);
        made.persisted();
        assertThat(made.isNew()).isFalse();

        Build loaded = new Build(); // as Hibernate instantiates it, then @PostLoad
        loaded.persisted();
        assertThat(loaded.isNew()).isFalse();
        assertThat(new Build().isNew()).isFalse();
    }
}
