package io.buildgateway.hostpool;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.model.Image;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Predicate;

/**
 * The names of team images on a shared build host, and which of them may come off: the logic the end of each build
 * (builds.BuildSequence), the periodic sweep (builds.TeamImageSweep) and a recovered host's clean-up
 * ({@link HostHealth}) share. BuildKit builds with {@code pull=0}, so a name left on a shared host is an image any
 * build there reads without asking the registry (docs/security.md, "BuildKit builds without a session").
 */
public final class TeamImages {

    private TeamImages() {
    }

    /**
     * The names (tags and repository digests) of {@code images} in {@code registry} whose repository {@code wanted}
     * accepts, by repository (sorted).
     */
    static Map<String, List<String>> names(List<Image> images, String registry, Predicate<String> wanted) {
        Map<String, List<String>> names = new TreeMap<>();
        for (Image image : images) {
            for (String reference : references(image)) {
                String repository = Confinement.repository(reference, registry);
                if (repository != null && wanted.test(repository)) {
                    names.computeIfAbsent(repository, k -> new ArrayList<>()).add(reference);
                }
            }
        }
        return names;
    }

    /** An image's repository digests, then its tags (none of Docker's {@code <none>} placeholders). */
    static List<String> references(Image image) {
        List<String> refs = new ArrayList<>();
        if (image.getRepoDigests() != null) {
            refs.addAll(List.of(image.getRepoDigests()));
        }
        if (image.getRepoTags() != null) {
            refs.addAll(List.of(image.getRepoTags()));
        }
        refs.removeIf(r -> r == null || r.startsWith("<none>"));
        return refs;
    }

    /**
     * Whether the sweep takes a repository's names off a shared host: a team's repository (under none of the
     * pullable prefixes, whose images every build may read anyway) or one under the quarantine (never pullable).
     */
    static boolean swept(String repository, List<String> pullablePrefixes, String quarantine) {
        return BuildHosts.underQuarantine(repository, quarantine)
                || pullablePrefixes.stream().noneMatch(repository::startsWith);
    }

    /**
     * The repositories of the gateway's registry that builds running on a host may pull or push: each build's own
     * repository and the repository of each reference it was approved to pull (references to other registries are
     * not the gateway's to keep). Sorted.
     */
    public static Set<String> inUse(Collection<RunningBuilds.Running> running, String registry) {
        Set<String> repositories = new TreeSet<>();
        for (RunningBuilds.Running build : running) {
            if (build.repository() != null) {
                repositories.add(build.repository());
            }
            for (String reference : build.pulls()) {
                String repository = Confinement.repository(reference, registry);
                if (repository != null) {
                    repositories.add(repository);
                }
            }
        }
        return repositories;
    }

    /**
     * {@code names} without the repositories in {@code kept}: the names that may come off. Their order is kept
     * (by repository, as {@link #names} sorts them).
     */
    public static List<String> unused(Map<String, List<String>> names, Set<String> kept) {
        List<String> off = new ArrayList<>();
        names.forEach((repository, refs) -> {
            if (!kept.contains(repository)) {
                off.addAll(refs);
            }
        });
        return off;
    }

    /**
     * Takes these names off the host with {@code control} (a bounded wait each), keeping layers a cache holds
     * ({@code noprune}). Best effort: a name already gone or in use by a container is skipped; a daemon that does not
     * answer ends the round. Returns the names taken off.
     */
    static List<String> forget(DockerClient control, Collection<String> references) {
        return untag(control, references).removed();
    }

    /**
     * What {@link #untag} took off, and whether the daemon failed before the last name (so the caller can stop asking
     * it: the periodic sweep holds the scheduling lock while it asks).
     */
    public record Untagged(List<String> removed, boolean daemonFailed) {
    }

    /** As {@link #forget}, saying whether the daemon failed on the way. */
    static Untagged untag(DockerClient control, Collection<String> references) {
        List<String> removed = new ArrayList<>();
        for (String reference : references) {
            try {
                control.removeImageCmd(reference).withNoPrune(true).exec();
                removed.add(reference);
            } catch (com.github.dockerjava.api.exception.NotFoundException
                    | com.github.dockerjava.api.exception.ConflictException gone) {
                // already gone (a tag's removal takes the repository's digest with it), or in use by a container
            } catch (RuntimeException e) {
                // the daemon does not answer (or refuses): the rest stay for the next round, said so (the names
                // themselves may carry a build arg's value: not logged)
                org.slf4j.LoggerFactory.getLogger(TeamImages.class).warn("took {} of {} team image name(s) off the"
                        + " host, then the daemon failed ({}); the rest stay until the next build's end or sweep",
                        removed.size(), references.size(), rootCause(e).getClass().getSimpleName());
                return new Untagged(removed, true);
            }
        }
        return new Untagged(removed, false);
    }

    /**
     * Whether one of the image's names (a tag or a repository digest) is in the gateway's {@code registry}, in a
     * repository {@code repositories} accepts.
     */
    static boolean namedIn(Image image, String registry, java.util.function.Predicate<String> repositories) {
        for (String reference : references(image)) {
            String repository = Confinement.repository(reference, registry);
            if (repository != null && repositories.test(repository)) {
                return true;
            }
        }
        return false;
    }

    private static Throwable rootCause(Throwable e) {
        Throwable cause = e;
        while (cause.getCause() != null && cause.getCause() != cause) {
            cause = cause.getCause();
        }
        return cause;
    }

}
