package io.buildgateway.scanning;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.util.ArrayList;
import java.util.List;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Fuzz target for the OSV import ({@code POST /api/v1/advisories}: anyone with the role can send any JSON). Property:
 * each document parses or is refused with {@code InvalidAdvisory} (the 400 the import answers); a parsed advisory
 * reads back the same from the text the import stores (matching later re-reads it); and matching it against packages
 * at every version it names, in its own ecosystems, returns. Seeds beside this class.
 */
class OsvFuzzTest {

    private static final JsonMapper JSON = JsonMapper.builder().build();

    @FuzzTest(maxDuration = "60s")
    void advisoriesParseOrAreRefusedAndMatchWithoutError(byte[] body) {
        JsonNode root;
        try {
            root = JSON.readTree(body);
        } catch (JacksonException notJson) {
            return; // Spring's 400 before the import sees it
        }
        if (root == null) {
            return;
        }
        List<JsonNode> documents = new ArrayList<>();
        if (root.isArray()) {
            root.forEach(documents::add);
        } else {
            documents.add(root);
        }
        for (int i = 0; i < documents.size(); i++) {
            Osv osv;
            try {
                osv = Osv.parse(documents.get(i), i);
            } catch (Osv.InvalidAdvisory refused) {
                assertThat(refused.getMessage()).isNotBlank();
                continue;
            }
            assertThat(osv.id()).isNotBlank();
            assertThat(osv.modified()).isNotNull();
            assertThat(osv.severity()).isIn("critical", "high", "medium", "low", "none", "unknown");
            Osv stored = Osv.parse(JSON.readTree(JSON.writeValueAsString(documents.get(i))), i);
            assertThat(stored).isEqualTo(osv);
            matchEveryNamedVersion(osv);
        }
    }

    private static void matchEveryNamedVersion(Osv osv) {
        List<Packages.Package> packages = new ArrayList<>();
        for (Osv.Affected a : osv.affected()) {
            List<String> versions = new ArrayList<>(a.versions());
            a.ranges().forEach(r -> r.events().forEach(e -> versions.add(e.version())));
            versions.add("0");
            for (String v : versions) {
                if (v != null) {
                    packages.add(new Packages.Package("x", a.ecosystem(), a.name(), v, null, null, "/x"));
                }
            }
        }
        new VulnerabilityMatcher(List.of(osv)).match(packages).forEach(v -> {
            assertThat(v.advisoryId()).isEqualTo(osv.id());
            assertThat(v.installed()).isNotNull();
        });
    }
}
