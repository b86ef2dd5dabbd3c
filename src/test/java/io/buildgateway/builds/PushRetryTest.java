package io.buildgateway.builds;

import static org.assertj.core.api.Assertions.assertThat;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.buildgateway.hostpool.BuildOutcome;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class PushRetryTest {

    private static final Instant T0 = Instant.parse("2026-12-02T10:00:00Z");

    @Test
    void backsOffDoublingUpToThirtySecondsWhileTheNextAttemptStartsBeforeTheDeadline() {
        PushRetry retry = new PushRetry();
        Instant deadline = T0.plusSeconds(120);
        Instant now = T0;
        StringBuilder waits = new StringBuilder();
        Duration wait;
        while ((wait = retry.afterFailure("dial unix /run/registry.sock: connect: connection refused", now,
                deadline)) != null) {
            waits.append(wait.toSeconds()).append(' ');
            now = now.plus(wait).plusSeconds(1); // each attempt itself takes a second
        }
        assertThat(waits.toString().trim()).isEqualTo("1 2 4 8 16 30 30");
        assertThat(retry.attempts()).isEqualTo(8);
        assertThat(now).isBefore(deadline);
    }

    @Test
    void aRefusalOfTheRegistryIsFinalAtOnce() {
        PushRetry retry = new PushRetry();
        assertThat(retry.afterFailure("denied: requested access to the resource is denied", T0,
                T0.plusSeconds(600))).isNull();
        assertThat(retry.attempts()).isEqualTo(1);
    }

    @Test
    void noAttemptIsScheduledAtOrPastTheDeadline() {
        PushRetry retry = new PushRetry();
        assertThat(retry.afterFailure("EOF", T0, T0.plusSeconds(1))).isNull();
        assertThat(new PushRetry().afterFailure("EOF", T0, T0.plusMillis(1001))).isEqualTo(Duration.ofSeconds(1));
    }

    // ---- run(): the one retry of the push, the quarantine push and the naming -----------------------------------

    private final List<String> lines = new ArrayList<>();

    private PushRetry retry(Duration untilDeadline, boolean cancelled) {
        Clock clock = Clock.fixed(T0, ZoneOffset.UTC);
        return new PushRetry("b-1", "sha256:image", Duration.ofMinutes(5), T0.plus(untilDeadline), clock,
                () -> cancelled, lines::add);
    }

    @Test
    void anAttemptThatFailsIsTriedAgainAndItsFailureIsInTheBuildLog() throws Exception {
        PushRetry retry = retry(Duration.ofMinutes(5), false);
        int[] calls = {0};
        String digest = retry.run("push to registry:5000", () -> {
            if (calls[0]++ == 0) {
                throw new PushRetry.Failed("Get \"http://registry:5000/v2/\": EOF");
            }
            return "sha256:pushed";
        });
        assertThat(digest).isEqualTo("sha256:pushed");
        assertThat(calls[0]).isEqualTo(2);
        assertThat(lines).containsExactly(
                "Push to registry:5000 failed (Get \"http://registry:5000/v2/\": EOF); attempt 2 in 1 s\n");
    }

    /**
     * A retried naming (or push) is made only once the build's lease was renewed right before it: when it could not
     * be (the lease lost, the database away or the row held), that attempt is not made and counts as failed, and the
     * backoff goes on; the first attempt is not asked again (the caller asked right before it).
     */
    @Test
    void aRetryIsNotMadeWhenTheLeaseCouldNotBeRenewedRightBeforeIt() throws Exception {
        List<Boolean> answers = new ArrayList<>(List.of(false, true));
        int[] asked = {0};
        PushRetry retry = retry(Duration.ofMinutes(5), false).onlyWhileHeld(() -> {
            asked[0]++;
            return answers.remove(0);
        });
        List<Integer> attemptsMade = new ArrayList<>();
        String digest = retry.run("naming the image in registry:5000", () -> {
            attemptsMade.add(asked[0]);
            if (attemptsMade.size() == 1) {
                throw new PushRetry.Failed("the registry at registry:5000 cannot be reached (Connection refused)");
            }
            return "sha256:named";
        });
        assertThat(digest).isEqualTo("sha256:named");
        assertThat(attemptsMade).as("the lease asked before each attempt but the first; none made without it")
                .containsExactly(0, 2);
        assertThat(lines).containsExactly(
                "Naming the image in registry:5000 failed (the registry at registry:5000 cannot be reached"
                        + " (Connection refused)); attempt 2 in 1 s\n",
                "Naming the image in registry:5000 failed (" + PushRetry.LEASE_NOT_RENEWED + "); attempt 3 in 2 s\n");
    }

    @Test
    void whenNoAttemptFitsBeforeTheDeadlineTheBuildFailsWithTheLastError() {
        PushRetry retry = retry(Duration.ofMillis(500), false);
        assertThatThrownBy(() -> retry.run("naming the image in registry:5000", () -> {
            throw new PushRetry.Failed("the registry at registry:5000 cannot be reached (Connection refused)");
        })).isInstanceOfSatisfying(PushRetry.Stopped.class, s -> {
            assertThat(s.outcome().result()).isEqualTo(BuildOutcome.Result.FAILED);
            assertThat(s.outcome().reason()).isEqualTo("naming the image in registry:5000 failed: the registry at"
                    + " registry:5000 cannot be reached (Connection refused)");
            assertThat(s.outcome().imageDigest()).isNull();
        });
        assertThat(lines).isEmpty();
    }

    @Test
    void aCancelWhileWaitingForTheNextAttemptEndsTheBuildCancelled() {
        PushRetry retry = retry(Duration.ofMinutes(5), true);
        int[] calls = {0};
        assertThatThrownBy(() -> retry.run("push to registry:5000", () -> {
            calls[0]++;
            throw new PushRetry.Failed("EOF");
        })).isInstanceOfSatisfying(PushRetry.Stopped.class, s -> {
            assertThat(s.outcome().result()).isEqualTo(BuildOutcome.Result.CANCELLED);
            assertThat(s.outcome().reason()).isEqualTo("cancelled while pushing");
        });
        assertThat(calls[0]).isEqualTo(1);
    }

    @Test
    void anErrorThatIsNotTheRegistryBeingAwayIsNotRetried() {
        PushRetry retry = retry(Duration.ofMinutes(5), false);
        int[] calls = {0};
        assertThatThrownBy(() -> retry.run("naming the image in registry:5000", () -> {
            calls[0]++;
            throw new java.io.IOException("the pushed image is an index, not one image");
        })).isInstanceOf(java.io.IOException.class);
        assertThat(calls[0]).isEqualTo(1);
        assertThat(lines).isEmpty();
    }

    @Test
    void theDeadlineDuringAnAttemptEndsTheBuildWithAReasonNamingTheRegistryAndTheLastError() {
        PushRetry retry = retry(Duration.ofMinutes(5), false);
        int[] calls = {0};
        assertThatThrownBy(() -> retry.run("push to registry:5000", () -> {
            if (calls[0]++ == 0) {
                throw new PushRetry.Failed("Get \"http://registry:5000/v2/\": EOF");
            }
            throw retry.stopped(BuildOutcome.Result.TIMED_OUT); // the second attempt still running at the deadline
        })).isInstanceOfSatisfying(PushRetry.Stopped.class, s -> {
            assertThat(s.outcome().result()).isEqualTo(BuildOutcome.Result.TIMED_OUT);
            assertThat(s.outcome().reason()).isEqualTo("push to registry:5000 exceeded the build timeout of PT5M"
                    + " after 2 attempts (last error: Get \"http://registry:5000/v2/\": EOF)");
        });
    }

    @Test
    void aDaemonPushEndsAtOnceWhenItsHostStoppedAnsweringInsteadOfWaitingOutTheDeadline() {
        Clock clock = Clock.fixed(T0, ZoneOffset.UTC);
        int[] asked = {0};
        PushRetry retry = new PushRetry("b-1", "sha256:image", Duration.ofMinutes(5), T0.plusSeconds(300), clock,
                () -> false, lines::add, () -> asked[0]++ > 0);
        int[] calls = {0};
        assertThatThrownBy(() -> retry.run("push to registry:5000", () -> {
            calls[0]++;
            throw new PushRetry.Failed("Connection refused");
        })).isInstanceOfSatisfying(PushRetry.Stopped.class, stopped -> {
            assertThat(stopped.outcome().result()).isEqualTo(BuildOutcome.Result.FAILED);
            assertThat(stopped.outcome().reason()).isEqualTo("push to registry:5000 failed: Connection refused"
                    + " (the build host's daemon stopped answering)");
        });
        // the first failure found the host alive and was tried again after 1 s; the second found it gone
        assertThat(calls[0]).isEqualTo(2);
        assertThat(retry.attempts()).isEqualTo(2);
        assertThat(lines).hasSize(1);
    }
}
