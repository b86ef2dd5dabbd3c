package io.buildgateway.hostpool;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** What an audit event of a removal from a host says: the objects, their count, their builds. */
class RemovedDetailsTest {

    @Test
    void namesWhatWasRemovedAndOfWhichBuilds() {
        Map<String, Object> d = BuildHosts.Removed.details(List.of(new BuildHosts.Removed("container", "c1", "b2"),
                new BuildHosts.Removed("image", "sha256:i1", "b1"), new BuildHosts.Removed("image", "sha256:i2", "b2")));

        assertThat(d.get("count")).isEqualTo(3);
        assertThat(d.get("builds")).isEqualTo(List.of("b1", "b2"));
        assertThat(d.get("removed")).asList().hasSize(3).first()
                .isEqualTo(Map.of("kind", "container", "id", "c1", "buildId", "b2"));
    }

    @Test
    void aLongListIsCutButCountedExactly() {
        List<BuildHosts.Removed> many = new ArrayList<>();
        for (int i = 0; i < 250; i++) {
            many.add(new BuildHosts.Removed("image", "sha256:" + i, null));
        }
        Map<String, Object> d = BuildHosts.Removed.details(many);

        assertThat(d.get("count")).isEqualTo(250);
        assertThat(d.get("removed")).asList().hasSize(BuildHosts.Removed.NAMED);
        assertThat(d.get("builds")).isEqualTo(List.of());
    }
}
