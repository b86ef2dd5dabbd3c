package io.buildgateway.builds;

import static org.assertj.core.api.Assertions.assertThat;

import io.buildgateway.support.Canary;
import io.buildgateway.support.IntegrationTest;
import io.buildgateway.support.Tars;
import java.net.http.HttpRequest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * A base the policy does not approve but lets through for a team (here {@code unapproved-image} off for it; a waiver
 * does the same) is judged and pinned as an approved base is, when the team's daemon would be granted its pull: the
 * team's own image. Before, such a base was built by its tag with its ONBUILD triggers never read: a trigger that
 * adds a URL reached the daemon (where only the confinement check stopped it), and a tag moved after submission was
 * built unjudged. The bases are made through the registry's API from base/busybox (layers mounted, config changed).
 */
class TeamBaseIT extends IntegrationTest {

    private static final String RUN = UUID.randomUUID().toString().substring(0, 8);

    @org.junit.jupiter.api.extension.RegisterExtension
    static final Canary canary = Canary.start(); // stopped after the class

    /** Stores base/busybox with these ONBUILD triggers (none: empty) under {@code <team>/tools:<tag>}. */
    /** Writes a policy file and waits until a lint of {@code dockerfile} has no error for the team. */
    private void policy(String token, String team, Path file, String content, String dockerfile) throws Exception {
        Files.writeString(file, content);
        eventually("the policy change being picked up", Duration.ofSeconds(15),
                () -> blockingRules(token, team, dockerfile).isEmpty());
    }

    private String pushTeamBase(String team, String tag, List<String> onBuild) {
        return pushDerivedImage("base/busybox", team + "/tools", tag, inner -> {
            ObjectNode labels = inner.has("Labels") && inner.get("Labels").isObject()
                    ? (ObjectNode) inner.get("Labels") : inner.putObject("Labels");
            labels.put("team.base", tag);
            if (!onBuild.isEmpty()) {
                onBuild.forEach(inner.putArray("OnBuild")::add);
            }
        });
    }

    /** The unwaived error-severity rules a lint of {@code dockerfile} gives {@code team} (it reads no registry). */
    private List<String> blockingRules(String token, String team, String dockerfile) {
        JsonNode lint = read(send(request(token, "/api/v1/lint?image=" + team + "/app")
                .header("Content-Type", "text/plain").POST(HttpRequest.BodyPublishers.ofString(dockerfile))));
        List<String> rules = new java.util.ArrayList<>();
        for (JsonNode f : lint.path("findings")) {
            if (f.path("severity").asString().equals("error") && !f.path("waived").asBoolean(false)) {
                rules.add(f.path("rule").asString());
            }
        }
        return rules;
    }

    @Test
    void aTeamsOwnUnapprovedBaseIsJudgedAndPinnedWhenThePolicyLetsItThrough() throws Exception {
        String team = "tb" + RUN;
        String token = builder(team);
        String harmless = pushTeamBase(team, "1", List.of());
        String evil = pushTeamBase(team, "2", List.of("ADD http://127.0.0.1:" + canary.port() + "/t-" + RUN + " /x"));
        String base = registryAddress() + "/" + team + "/tools";
        String file = "RUN true\nUSER 65534\nHEALTHCHECK NONE\n";

        Path policyFile = POLICY.resolve("zz-teambase-" + team + ".yaml");
        try {
            assertThat(blockingRules(token, team, "FROM " + base + ":1\n" + file)).contains("unapproved-image");
            Files.writeString(policyFile, "teams:\n  " + team + ":\n    rules:\n      unapproved-image: \"off\"\n");
            eventually("the team's rule off", Duration.ofSeconds(15),
                    () -> blockingRules(token, team, "FROM " + base + ":1\n" + file).isEmpty());

            // The trigger is judged as the instruction it becomes: refused at submission, nothing built.
            JsonNode refused = problem(submit(token, "image=" + team + "/app&tag=evil&noCache=true",
                    Tars.dockerfile("FROM " + base + ":2\n" + file)), 422);
            assertThat(refused.path("findings").toString()).contains("base-image-triggers")
                    .contains("t-" + RUN);

            // A harmless one is pinned to the digest read: in the pulls, the record and what the daemon pulled.
            Response accepted = submit(token, "image=" + team + "/app&tag=ok&noCache=true",
                    Tars.dockerfile("FROM " + base + ":1\n" + file));
            assertThat(accepted.status()).as(accepted.body()).isEqualTo(202);
            String id = read(accepted).path("id").asString();
            Map<String, Object> row = jdbc.queryForMap("select allowed_pulls, base_digest from build"
                    + " where id = ?::uuid", id);
            assertThat(row.get("allowed_pulls").toString()).contains(base + ":1@" + harmless);
            assertThat(row).containsEntry("base_digest", harmless);
            JsonNode done = awaitFinal(token, id, Duration.ofMinutes(3));
            assertThat(done.path("status").asString())
                    .as(done + "\n" + get(token, "/api/v1/builds/" + id + "/logs").body()).isEqualTo("SUCCEEDED");
            assertThat(jdbc.queryForObject("select cast(pulled_images as varchar) from build where id = ?::uuid",
                    String.class, id)).contains(harmless).doesNotContain(evil);
            assertThat(canary.requests()).as("requests the canary saw").isEmpty();
        } finally {
            Files.deleteIfExists(policyFile);
        }
    }

    @Test
    void aWaivedTeamBaseIsPinnedAndAnotherTeamsImageIsNeverReadForIt() throws Exception {
        String team = "tw" + RUN;
        String other = "to" + RUN;
        String token = builder(team);
        String mine = pushTeamBase(team, "1", List.of());
        // another team's image whose trigger would fetch the canary: its text must reach no finding of this team's
        pushTeamBase(other, "2", List.of("ADD http://127.0.0.1:" + canary.port() + "/o-" + RUN + " /x"));
        String file = "RUN true\nUSER 65534\nHEALTHCHECK NONE\n";
        String base = registryAddress() + "/" + team + "/tools:1";
        String othersBase = registryAddress() + "/" + other + "/tools:2";

        Path policyFile = POLICY.resolve("zz-teambase-" + team + ".yaml");
        try {
            policy(token, team, policyFile, "waivers:\n  - rule: unapproved-image\n    team: " + team
                    + "\n    image: " + team + "/app\n    reason: the team's tools image (" + RUN
                    + ")\n    approver: sec\n    expires: 2099-12-31\n", "FROM " + base + "\n" + file);

            Response accepted = submit(token, "image=" + team + "/app&tag=ok&noCache=true",
                    Tars.dockerfile("FROM " + base + "\n" + file));
            assertThat(accepted.status()).as(accepted.body()).isEqualTo(202);
            String id = read(accepted).path("id").asString();
            assertThat(jdbc.queryForObject("select allowed_pulls from build where id = ?::uuid", String.class, id))
                    .contains(base + "@" + mine);
            JsonNode done = awaitFinal(token, id, Duration.ofMinutes(3));
            assertThat(done.path("status").asString())
                    .as(done + "\n" + get(token, "/api/v1/builds/" + id + "/logs").body()).isEqualTo("SUCCEEDED");

            // The waiver lets another team's image through the policy too, but the daemon would not be granted it:
            // the gateway does not read it (no trigger of it judged or quoted), and the dispatch refuses the pull.
            Response theirs = submit(token, "image=" + team + "/app&tag=theirs&noCache=true",
                    Tars.dockerfile("FROM " + othersBase + "\n" + file));
            assertThat(theirs.status()).as(theirs.body()).isEqualTo(202);
            assertThat(theirs.body()).doesNotContain("o-" + RUN);
            String theirsId = read(theirs).path("id").asString();
            assertThat(jdbc.queryForObject("select allowed_pulls from build where id = ?::uuid", String.class,
                    theirsId)).contains(othersBase).doesNotContain(othersBase + "@");
            JsonNode refused = awaitFinal(token, theirsId, Duration.ofMinutes(3));
            assertThat(refused.path("status").asString()).as(refused.toString()).isEqualTo("FAILED");
            assertThat(refused.path("failureReason").asString()).contains(other + "/tools");
            assertThat(refused.toString()).doesNotContain("o-" + RUN);
            assertThat(canary.requests()).as("requests the canary saw").isEmpty();
        } finally {
            Files.deleteIfExists(policyFile);
        }
    }
}
