package io.buildgateway.shared;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.junit.jupiter.api.Test;

class ValueTypesTest {

    @Test
    void imageNamesAreTeamScopedAndLowercase() {
        ImageName name = ImageName.parse("payments/api-server");
        assertThat(name.team().value()).isEqualTo("payments");
        assertThat(ImageName.parse("payments/tools/jq").repository()).isEqualTo("payments/tools/jq");
        for (String bad : new String[] {"payments", "Payments/x", "payments/", "/x", "a//b", "reg.io:5000/a/b",
                "a/b:tag", "a/b@sha256:00", "a/-b", "a/b..c"}) {
            assertThatThrownBy(() -> ImageName.parse(bad)).as(bad).isInstanceOf(IllegalArgumentException.class);
        }
        // The refusal says which segment, never what it is (a name from docker build -t may be a pasted credential).
        assertThatThrownBy(() -> ImageName.parse("payments/Tok_3n-s3cr3t/app")).isInstanceOf(
                IllegalArgumentException.class).hasMessageContaining("segment 2 of 3")
                .hasMessageNotContaining("s3cr3t");
    }

    @Test
    void tagsFollowTheRegistryGrammar() {
        assertThat(ImageName.isValidTag("v1.2.3-rc_1")).isTrue();
        assertThat(ImageName.isValidTag(".hidden")).isFalse();
        assertThat(ImageName.isValidTag("a b")).isFalse();
        assertThat(ImageName.isValidTag("x".repeat(129))).isFalse();
    }

    @Test
    void digestsAreSha256Only() {
        String hex = "a".repeat(64);
        assertThat(Digest.parse("sha256:" + hex).hex()).isEqualTo(hex);
        assertThatThrownBy(() -> Digest.parse("sha256:" + "A".repeat(64))).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Digest.parse("md5:abc")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void secretNamesAreRecognisedWithoutFalseFriends() {
        for (String secret : new String[] {"DB_PASSWORD", "dbPassword", "NPM_TOKEN", "AWS_SECRET_ACCESS_KEY", "API_KEY",
                "apiKey", "PRIVATE-KEY", "GITHUB_PAT", "BASIC_AUTH", "AUTH", "MYSQL_PWD", "GPG_PASSPHRASE"}) {
            assertThat(SecretNames.looksSecret(secret)).as(secret).isTrue();
        }
        for (String plain : new String[] {"NODE_TLS_REJECT_UNAUTHORIZED", "AUTHOR", "PATH", "PWDX", "MODE",
                "KEYBOARD", "APP_VERSION"}) {
            assertThat(SecretNames.looksSecret(plain)).as(plain).isFalse();
        }
    }

    @Test
    void secretLookingNamesAreRedacted() {
        assertThat(SecretNames.redact(Map.of("NPM_TOKEN", "s3cr3t", "MODE", "prod")))
                .containsEntry("NPM_TOKEN", "***").containsEntry("MODE", "prod");
    }

    @Test
    void imageReferencesSplitAsTheDaemonSplitsThem() {
        ImageReference pinned = ImageReference.split("127.0.0.1:5001/base/debian:12@sha256:" + "a".repeat(64));
        assertThat(pinned.name()).isEqualTo("127.0.0.1:5001/base/debian");
        assertThat(pinned.tag()).isEqualTo("12");
        assertThat(pinned.manifestReference()).isEqualTo("sha256:" + "a".repeat(64));
        assertThat(pinned.repositoryOn("127.0.0.1:5001")).isEqualTo("base/debian");
        // A registry port is not a tag; no tag means latest
        ImageReference bare = ImageReference.split("127.0.0.1:5001/team/app");
        assertThat(bare.tag()).isNull();
        assertThat(bare.manifestReference()).isEqualTo("latest");
        assertThat(bare.repositoryOn("127.0.0.1:5001")).isEqualTo("team/app");
        // Another registry, a registry that is only a prefix of this one's name, or no repository at all
        assertThat(bare.repositoryOn("127.0.0.1:5000")).isNull();
        assertThat(ImageReference.split("127.0.0.1:50011/team/app").repositoryOn("127.0.0.1:5001")).isNull();
        assertThat(ImageReference.split("127.0.0.1:5001/").repositoryOn("127.0.0.1:5001")).isNull();
        assertThat(ImageReference.split("busybox:1.36").name()).isEqualTo("busybox");
    }
}
