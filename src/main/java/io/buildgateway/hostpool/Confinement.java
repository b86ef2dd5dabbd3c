package io.buildgateway.hostpool;

import io.buildgateway.shared.ImageReference;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What a build's daemon may pull, and whether what it did stayed inside that. Pure logic: the plan is derived from
 * the job (the images the policy approved) and the host pool's own rule (a team's own repositories and the pullable
 * prefixes), so a policy that approves too much by mistake still does not widen the daemon's registry token; the
 * check compares the daemon's own reports (its pull messages, its download progress, its error) with the plan.
 */
final class Confinement {

    private static final Pattern URL_IN_ERROR = Pattern.compile("(?:Get|Head|Post|Put) \"(https?://[^\"]+)\"");
    private static final Pattern PULL_DENIED = Pattern.compile("pull access denied for ([^,\\s]+)");
    private static final Pattern REGISTRY_REFUSED = Pattern.compile(
            "(unauthorized: [^\\n]{0,200}|denied: requested access[^\\n]{0,200})");
    /** Any http(s) URL in a daemon error (up to white space, a quote or an angle bracket). */
    private static final Pattern ANY_URL = Pattern.compile("https?://[^\\s\"'<>]+");
    /**
     * How the classic builder and its remote-source code report a fetch of a URL that failed or was refused:
     * {@code failed to GET <url> with status 401 Unauthorized: <body>} (an ADD of a URL that answered with an error
     * status), {@code error downloading …}, {@code invalid response status …}, and any error of an ADD step
     * ({@code ADD failed: …}, e.g. {@code ADD failed: Get "<url>": dial tcp …}).
     */
    private static final Pattern FETCH_FORM = Pattern.compile(
            "failed to GET |error downloading|invalid response status|^ADD failed:", Pattern.CASE_INSENSITIVE);
    private static final Pattern STATUS = Pattern.compile("with status (\\d{3}[ A-Za-z]{0,40})");
    /** How the classic builder reports a failed RUN: the command's text, which the build's author chose. */
    private static final String RUN_FAILED = "The command '";
    /** How BuildKit reports a failed RUN: {@code process "<command>" did not complete successfully: …}. */
    private static final Pattern BUILDKIT_RUN_FAILED = Pattern.compile(
            "process \".*\" did not complete successfully: [^\"]*", Pattern.DOTALL);

    private Confinement() {
    }

    /**
     * @param granted repositories (under the registry) the daemon's token may pull
     * @param refused approved references the token does not cover, each with the reason
     */
    record Plan(Set<String> granted, Map<String, String> refused) {
        Plan {
            granted = Set.copyOf(new LinkedHashSet<>(granted));
            refused = Map.copyOf(refused);
        }
    }

    static Plan plan(BuildJob job, String registry, List<String> pullablePrefixes) {
        return plan(job, registry, pullablePrefixes, "");
    }

    /**
     * As {@link #plan(BuildJob, String, List)}; a repository under {@code quarantine} (images still being checked,
     * or refused) is never granted, whatever the prefixes say.
     */
    static Plan plan(BuildJob job, String registry, List<String> pullablePrefixes, String quarantine) {
        Set<String> granted = new LinkedHashSet<>();
        Map<String, String> refused = new LinkedHashMap<>();
        for (String reference : job.allowedPulls()) {
            String repository = repository(reference, registry);
            String refusal = refusal(repository, job.team(), registry, pullablePrefixes, quarantine);
            if (refusal == null) {
                granted.add(repository);
            } else {
                refused.put(reference, refusal);
            }
        }
        return new Plan(granted, refused);
    }

    /**
     * Why a build of {@code team} is not granted a pull of {@code repository} (null: the repository of a reference
     * outside the registry), or null when it is: a repository of the gateway's registry, not under the quarantine,
     * the team's own or under a pullable prefix. The one rule for the daemon's token and for the submission's read
     * of a base it would pull ({@link BuildHosts#grantable}).
     */
    static String refusal(String repository, String team, String registry, List<String> pullablePrefixes,
            String quarantine) {
        if (repository == null) {
            return "not in the gateway's registry " + registry;
        } else if (BuildHosts.underQuarantine(repository, quarantine)) {
            return "the gateway's quarantine of images not yet checked, never pullable";
        } else if (repository.startsWith(team + "/") || pullablePrefixes.stream().anyMatch(repository::startsWith)) {
            return null;
        }
        return "another team's repository, not under a pullable prefix " + pullablePrefixes;
    }

    /** What the build's token grants: pull on the granted repositories, nothing else. */
    static List<RegistryTokens.Access> pullGrants(Plan plan) {
        return plan.granted().stream().sorted().map(r -> new RegistryTokens.Access(r, Set.of("pull"))).toList();
    }

    /**
     * What the push token grants: push and pull on {@code repository} (the run's quarantine: the daemon never holds a
     * token that writes to the team's repository, ConfinementIT), pull on the granted repositories (so that the
     * registry mounts their layers instead of receiving them again).
     */
    static List<RegistryTokens.Access> pushGrants(String repository, Plan plan) {
        List<RegistryTokens.Access> grants = new ArrayList<>();
        grants.add(new RegistryTokens.Access(repository, Set.of("push", "pull")));
        grants.addAll(pullGrants(plan));
        return RegistryTokens.merge(grants);
    }

    /** The repository of {@code registry/repo[:tag][@digest]}, or null for a reference to another registry. */
    static String repository(String reference, String registry) {
        return reference == null ? null : ImageReference.split(reference).repositoryOn(registry);
    }

    /**
     * Every way the build left its confinement, as the daemon reported it: an image pulled from a repository not
     * granted (or from another registry), a remote source it downloaded itself, and, when the build failed, a
     * connection it tried to something other than the registry or a request the registry refused. (A failed RUN
     * step's error quotes the step's command, which could say anything: it is not read.)
     *
     * @param error the daemon's error message when the build failed, else null
     */
    static List<String> violations(Plan plan, String registry, List<PulledImage> pulled, List<String> fetched,
            String error) {
        return violations(plan, registry, pulled, fetched, error, null);
    }

    /**
     * As {@link #violations(Plan, String, List, List, String)}, knowing the step that was running when the daemon
     * reported its error ({@link PullLog#failedStep()}): any URL named by the error of a failed fetch (one of the
     * {@link #FETCH_FORM} forms, or any error of an ADD step) is a violation, whatever its host, the registry's
     * included: the daemon tried to download a remote source itself, which a build may not, and a refusal
     * ({@code 401 Unauthorized}) or a missing file ({@code 404 Not Found}) only means the attempt failed. Outside
     * an ADD, a URL of the registry's own API ({@code /v2/}) is a pull's, not a fetch.
     */
    static List<String> violations(Plan plan, String registry, List<PulledImage> pulled, List<String> fetched,
            String error, String failedStep) {
        List<String> found = new ArrayList<>();
        for (PulledImage image : pulled) {
            String repository = repository(image.reference(), registry);
            if (repository == null || !plan.granted().contains(repository)) {
                found.add("pulled " + image.reference() + " (" + image.digest() + "), which was not approved for"
                        + " this build");
            }
        }
        for (String step : fetched) {
            found.add("the daemon downloaded a remote source in step \"" + shorten(step) + "\"");
        }
        if (error != null && !error.startsWith(RUN_FAILED) && !BUILDKIT_RUN_FAILED.matcher(error).matches()) {
            Set<String> reached = new LinkedHashSet<>();
            Matcher url = URL_IN_ERROR.matcher(error);
            while (url.find()) {
                String target = withoutSecrets(url.group(1));
                if (!target.startsWith("http://" + registry + "/") && !target.startsWith("https://" + registry + "/")) {
                    found.add("the daemon tried to reach " + target);
                    reached.add(target);
                }
            }
            found.addAll(fetchAttempts(error, failedStep, registry, reached));
            Matcher denied = PULL_DENIED.matcher(error);
            if (denied.find()) {
                found.add("the registry refused the daemon a pull of " + denied.group(1) + " (not granted to this"
                        + " build)");
            } else {
                Matcher refused = REGISTRY_REFUSED.matcher(error);
                if (refused.find()) {
                    found.add("the registry refused the daemon's request: " + refused.group(1).strip());
                }
            }
        }
        return List.copyOf(new LinkedHashSet<>(found));
    }

    /** The URLs a failed fetch's error names (see {@link #violations}), but those in {@code reported} already. */
    private static List<String> fetchAttempts(String error, String failedStep, String registry, Set<String> reported) {
        boolean inAdd = failedStep != null && failedStep.regionMatches(true, 0, "ADD ", 0, 4);
        if (!inAdd && !FETCH_FORM.matcher(error).find()) {
            return List.of();
        }
        Matcher status = STATUS.matcher(error);
        String how = status.find() ? " (status " + status.group(1).strip() + ")" : "";
        List<String> found = new ArrayList<>();
        Matcher url = ANY_URL.matcher(error);
        while (url.find()) {
            String raw = url.group().replaceAll("[:,.;)\\]]+$", "");
            String target = withoutSecrets(raw);
            boolean registryApi = target.startsWith("http://" + registry + "/v2/")
                    || target.startsWith("https://" + registry + "/v2/");
            boolean addStep = inAdd || error.regionMatches(true, 0, "ADD failed:", 0, 11);
            if (reported.add(target) && (addStep || !registryApi)) {
                found.add("the daemon tried to fetch " + target + " itself (a remote source of an ADD)" + how);
            }
        }
        return found;
    }

    /** A URL without user info, query or fragment (they may carry credentials). */
    static String withoutSecrets(String url) {
        try {
            URI u = URI.create(url);
            return new URI(u.getScheme(), null, u.getHost(), u.getPort(), u.getPath(), null, null).toString();
        } catch (IllegalArgumentException | URISyntaxException e) {
            int cut = url.indexOf('?');
            return cut >= 0 ? url.substring(0, cut) : url;
        }
    }

    private static String shorten(String text) {
        String oneLine = text.replaceAll("\\s+", " ").strip();
        return oneLine.length() > 200 ? oneLine.substring(0, 200) + "…" : oneLine;
    }
}
