package io.buildgateway.scanning;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.scheduling.annotation.Scheduled;
import org.springframework.stereotype.Component;

/**
 * Removes what a scan leaves in {@code gateway.scanning.work-dir} when its replica dies mid-scan ({@code kill -9}, the
 * pod's OOM kill, a power cut): a build's folder ({@code <build id>/}: the image's own layers and OpenSCAP's root
 * filesystem) or a base's evaluation folder ({@code base-…}). A scan removes its own folder when it ends, so anything
 * else in the work folder is a leftover once it is older than any scan can run; the work folder is usually
 * {@code /dev/shm}, so a leftover holds memory until it is removed. The caches beside them ({@code layers},
 * {@code compliance-results}) keep their own bounds and are never touched here.
 *
 * <p>Only entries last modified more than {@code gateway.scanning.leftover-age} ago are removed (default 1h: longer
 * than a build's timeout, 30m by default, and so than any scan, which the build's timeout bounds). So the sweep is safe
 * where several replicas share one work folder: a running scan's folder is younger than that.
 */
@Component
class ScanLeftovers {

    private static final Logger log = LoggerFactory.getLogger(ScanLeftovers.class);
    /** The work folder's entries that are caches, not scans. */
    static final Set<String> CACHES = Set.of("layers", "compliance-results");

    private final Path workDir;
    private final Duration age;
    private final Clock clock;

    /** The host's own clock: the entries' times are the host's, not the database's (the gateway's clock). */
    @Autowired
    ScanLeftovers(ScanningProperties properties, io.buildgateway.shared.HostClock host) {
        this(properties.workDir(), properties.leftoverAge(), host.clock());
    }

    ScanLeftovers(Path workDir, Duration age, Clock clock) {
        this.workDir = workDir;
        this.age = age;
        this.clock = clock;
    }

    /** A minute after the start (a replica that crashed comes back to its own leftovers), then every 10 minutes. */
    @Scheduled(initialDelayString = "${gateway.scanning.leftover-sweep-delay:1m}",
            fixedDelayString = "${gateway.scanning.leftover-sweep-interval:10m}")
    void scheduled() {
        try {
            sweep();
        } catch (IOException | RuntimeException e) {
            log.warn("sweeping the scan work folder {} failed; will retry", workDir, e);
        }
    }

    /** Removes the leftovers; returns how many entries of the work folder were removed. */
    int sweep() throws IOException {
        if (!Files.isDirectory(workDir)) {
            return 0;
        }
        Instant before = clock.instant().minus(age);
        int removed = 0;
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(workDir)) {
            for (Path entry : entries) {
                if (CACHES.contains(entry.getFileName().toString())) {
                    continue;
                }
                Instant modified = Files.getLastModifiedTime(entry, LinkOption.NOFOLLOW_LINKS).toInstant();
                if (modified.isBefore(before)) {
                    LayerCache.deleteTree(entry);
                    if (Files.exists(entry, LinkOption.NOFOLLOW_LINKS)) {
                        log.warn("could not remove the scan leftover {} (last modified {}); will retry", entry,
                                modified);
                    } else {
                        removed++;
                        log.info("removed the scan leftover {} (last modified {})", entry, modified);
                    }
                }
            }
        }
        return removed;
    }
}
