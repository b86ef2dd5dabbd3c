package io.buildgateway.scanning;

import io.buildgateway.scanning.versions.AffectedRange;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * Matching 1,000 images against 10,000 advisories, single thread, warm: builds the index from the advisories and
 * matches every image's ~90 Debian packages with dpkg ordering. The baseline, measured in the same run, is the same
 * walk with the version comparisons left out (index lookups only), so the ratio shows what version ordering costs.
 * Target: under 5 s for the whole match.
 *   java -cp target/classes:<deps>:<out> io.buildgateway.scanning.MatchBench [images] [advisories]
 */
public final class MatchBench {

    public static void main(String[] args) {
        int images = args.length > 0 ? Integer.parseInt(args[0]) : 1000;
        int advisories = args.length > 1 ? Integer.parseInt(args[1]) : 10000;
        Random random = new Random(42);
        int poolSize = 2000;
        List<Osv> osv = new ArrayList<>();
        for (int i = 0; i < advisories; i++) {
            int p = random.nextInt(poolSize);
            String fixed = "1." + p + "-" + (1 + random.nextInt(3)) + (random.nextBoolean() ? "+deb12u1" : "");
            osv.add(new Osv("BENCH-" + i, Instant.EPOCH, null, null, List.of("CVE-2026-" + i), null,
                    random.nextBoolean() ? "high" : "critical",
                    List.of(new Osv.Affected(random.nextInt(4) == 0 ? "Debian" : "Debian:12", "src" + p,
                            List.of(new AffectedRange("ECOSYSTEM", List.of(new AffectedRange.Event("introduced", "0"),
                                    new AffectedRange.Event("fixed", fixed)))), List.of(), null))));
        }
        List<List<Packages.Package>> imagePackages = new ArrayList<>();
        for (int i = 0; i < images; i++) {
            List<Packages.Package> packages = new ArrayList<>();
            for (int k = 0; k < 90; k++) {
                int p = k < 60 ? k * 7 : random.nextInt(poolSize); // a common base plus the image's own
                packages.add(new Packages.Package("deb", "Debian:12", "bin" + p, "1." + p + "-" + (1 + random.nextInt(3))
                        + (random.nextInt(5) == 0 ? "~bpo12+1" : ""), "src" + p, null, "/var/lib/dpkg/status"));
            }
            imagePackages.add(packages);
        }
        for (int warm = 0; warm < 3; warm++) {
            run(osv, imagePackages, true);
            run(osv, imagePackages, false);
        }
        long[] full = new long[5];
        long[] lookups = new long[5];
        long matches = 0;
        for (int r = 0; r < 5; r++) {
            long t = System.nanoTime();
            matches = run(osv, imagePackages, true);
            full[r] = System.nanoTime() - t;
            t = System.nanoTime();
            run(osv, imagePackages, false);
            lookups[r] = System.nanoTime() - t;
        }
        Arrays.sort(full);
        Arrays.sort(lookups);
        double fullMs = full[2] / 1e6;
        double lookupMs = lookups[2] / 1e6;
        System.out.printf("match %d images x %d advisories: %.0f ms (median of 5), %d vulnerabilities; "
                + "baseline (index lookups only) %.0f ms; ratio to baseline %.2f; ratio to the 5 s target %.3f%n",
                images, advisories, fullMs, matches, lookupMs, fullMs / lookupMs, fullMs / 5000);
    }

    private static long run(List<Osv> osv, List<List<Packages.Package>> images, boolean compare) {
        VulnerabilityMatcher matcher = new VulnerabilityMatcher(osv);
        long found = 0;
        for (List<Packages.Package> packages : images) {
            found += compare ? matcher.match(packages).size() : matcher.candidates(packages);
        }
        return found;
    }
}
