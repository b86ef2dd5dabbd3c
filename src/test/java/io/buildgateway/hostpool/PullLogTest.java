package io.buildgateway.hostpool;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class PullLogTest {

    private static final String BUSYBOX = "sha256:2d2adc4e1a3898dcd296b49dd1e74a1c518f0158f953ce742033359c40edb110";
    private static final String DEBIAN = "sha256:2339e1c87078bc5b36529f1d8728389754325a41dbda8593caf0c43a382911dd";

    /** Messages as Debian 12's dockerd (20.10, classic builder, pull=1) sent them for a three-image build. */
    @Test
    void recordsEveryPulledImageWithTheDigestTheDaemonResolvedAndItsStep() {
        PullLog log = new PullLog();
        log.stream("Step 1/5 : FROM 127.0.0.1:5014/base/busybox:latest AS a");
        log.stream("\n");
        log.status("Pulling from base/busybox");
        log.status("Digest: " + BUSYBOX);
        log.status("Status: Image is up to date for 127.0.0.1:5014/base/busybox:latest");
        log.stream(" ---> 3e537480b3eb\n");
        log.stream("Step 2/5 : RUN echo Status: Image is up to date for evil/image:1 > /x");
        log.stream("Status: Downloaded newer image for evil/image:1\n"); // step output is stream, never status
        log.stream("Step 3/5 : FROM 127.0.0.1:5014/base/debian:12");
        log.status("Pulling from base/debian");
        log.status("Digest: " + DEBIAN);
        log.status("Status: Downloaded newer image for 127.0.0.1:5014/base/debian:12");
        log.stream("Step 4/5 : COPY --from=a /x /x");
        log.stream("Step 5/5 : COPY --from=127.0.0.1:5014/base/busybox:recipe-2 /bin/busybox /bb");
        log.status("Pulling from base/busybox");
        log.status("Digest: " + BUSYBOX);
        log.status("Status: Image is up to date for 127.0.0.1:5014/base/busybox:recipe-2");

        assertThat(log.pulled()).containsExactly(
                new PulledImage("127.0.0.1:5014/base/busybox:latest", BUSYBOX,
                        "FROM 127.0.0.1:5014/base/busybox:latest AS a"),
                new PulledImage("127.0.0.1:5014/base/debian:12", DEBIAN, "FROM 127.0.0.1:5014/base/debian:12"),
                new PulledImage("127.0.0.1:5014/base/busybox:recipe-2", BUSYBOX,
                        "COPY --from=127.0.0.1:5014/base/busybox:recipe-2 /bin/busybox /bb"));
    }

    @Test
    void aReferencePinnedByDigestIsItsOwnDigest() {
        PullLog log = new PullLog();
        log.stream("Step 1/2 : FROM 127.0.0.1:5014/base/busybox@" + BUSYBOX);
        log.status("Status: Image is up to date for 127.0.0.1:5014/base/busybox@" + BUSYBOX);
        assertThat(log.pulled()).containsExactly(new PulledImage("127.0.0.1:5014/base/busybox@" + BUSYBOX, BUSYBOX,
                "FROM 127.0.0.1:5014/base/busybox@" + BUSYBOX));
    }

    @Test
    void aPullWithoutADigestIsNotRecordedAsResolved() {
        PullLog log = new PullLog();
        log.stream("Step 1/1 : FROM 127.0.0.1:5014/base/busybox:latest");
        log.status("Status: Image is up to date for 127.0.0.1:5014/base/busybox:latest");
        assertThat(log.pulled()).isEqualTo(List.of());
    }

    /**
     * {@code ADD $U /x} as the daemon reported it when the URL answered: the step header shows the instruction
     * unsubstituted, the download is a {@code Downloading} progress without an id; the layers of a pull carry one.
     */
    @Test
    void notesTheStepsInWhichTheDaemonDownloadedARemoteSource() {
        PullLog log = new PullLog();
        log.stream("Step 1/3 : FROM 127.0.0.1:5014/base/busybox");
        log.status("Pulling from base/busybox", "latest");
        log.status("Downloading", "a1b2c3d4e5f6");
        log.status("Digest: " + BUSYBOX, null);
        log.status("Status: Image is up to date for 127.0.0.1:5014/base/busybox:latest", null);
        log.stream("Step 2/3 : ARG U=http://127.0.0.1:9999/x");
        log.stream("Step 3/3 : ADD $U /x");
        log.status("Downloading", null);
        log.status("Downloading", "");

        assertThat(log.fetched()).containsExactly("ADD $U /x");
        assertThat(log.pulled()).extracting(PulledImage::reference)
                .containsExactly("127.0.0.1:5014/base/busybox:latest");
    }

    @Test
    void aBuildWithoutRemoteSourcesFetchedNothing() {
        PullLog log = new PullLog();
        log.stream("Step 1/2 : FROM 127.0.0.1:5014/base/busybox");
        log.status("Downloading", "a1b2c3d4e5f6");
        log.stream("Step 2/2 : RUN echo Downloading");
        log.stream("Downloading\n");
        assertThat(log.fetched()).isEmpty();
    }

    /** The daemon's error names the step it ended: an ADD's, whatever a RUN before it printed. */
    @Test
    void notesTheStepTheDaemonsErrorEnded() {
        PullLog log = new PullLog();
        log.stream("Step 1/3 : FROM 127.0.0.1:5014/base/busybox");
        log.stream("Step 2/3 : RUN echo 'failed to GET http://10.0.0.1/x with status 401 Unauthorized'");
        log.stream("failed to GET http://10.0.0.1/x with status 401 Unauthorized\n");
        assertThat(log.failedStep()).isNull();
        log.stream("Step 3/3 : ADD $U /x");
        log.error("ADD failed: failed to GET http://127.0.0.1:5020/x with status 401 Unauthorized");
        log.error("a second error does not move it");
        assertThat(log.failedStep()).isEqualTo("ADD $U /x");

        Confinement.Plan plan = new Confinement.Plan(java.util.Set.of("base/busybox"), java.util.Map.of());
        for (String error : List.of(
                "ADD failed: failed to GET http://127.0.0.1:5020/x with status 401 Unauthorized: unauthorized",
                "failed to GET http://127.0.0.1:5020/x with status 404 Not Found: 404 page not found",
                "Get \"http://127.0.0.1:5014/x\": EOF",
                "error downloading http://127.0.0.1:5014/x: EOF",
                "invalid response status 401 Unauthorized for http://127.0.0.1:5014/x")) {
            assertThat(Confinement.violations(plan, "127.0.0.1:5014", log.pulled(), log.fetched(), error,
                    log.failedStep())).as(error).singleElement().asString().contains("127.0.0.1:50");
        }
    }

    @Test
    void aRunThatFailedIsTheFailedStep() {
        PullLog log = new PullLog();
        log.stream("Step 1/2 : FROM 127.0.0.1:5014/base/busybox");
        log.stream("Step 2/2 : RUN false");
        log.error("The command '/bin/sh -c false' returned a non-zero code: 1");
        assertThat(log.failedStep()).isEqualTo("RUN false");
    }
}
