package io.buildgateway.shared;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import org.junit.jupiter.api.Test;

class SecretNamesTest {

    @Test
    void namesThatHoldSecretsAreSuspect() {
        assertThat(SecretNames.looksSecret("DB_PASSWORD")).isTrue();
        assertThat(SecretNames.looksSecret("npmToken")).isTrue();
        assertThat(SecretNames.looksSecret("API_KEY")).isTrue();
        assertThat(SecretNames.looksSecret("AUTH")).isTrue();
        assertThat(SecretNames.looksSecret("UNAUTHORIZED_URL")).isFalse();
        assertThat(SecretNames.looksSecret("PATH")).isFalse();
        assertThat(SecretNames.looksSecret(null)).isFalse();
    }

    /** Short and key-pair names the first list missed (a review's finding, 2026-12-07); public-key names stay out. */
    @Test
    void shortPassNamesAndSecretKeyPairsAreSuspectPublicKeysAreNot() {
        for (String name : java.util.List.of("DB_PASS", "REDIS_PASS", "PGPASS", "KEYSTORE_PASS", "RAILS_MASTER_KEY",
                "LICENSE_KEY", "SSH_KEY", "ENCRYPTION_KEY", "SESSION_KEY", "NEW_RELIC_LICENSE_KEY", "jwt-key")) {
            assertThat(SecretNames.looksSecret(name)).as(name).isTrue();
        }
        for (String name : java.util.List.of("GPG_KEY", "GPG_KEYS", "PUBLIC_KEY", "SSH_PUBLIC_KEY", "NODE_VERSION",
                "PASSENGER_VERSION", "PGPASSFILE", "KEYRING", "COMPASS_URL", "BYPASS_CACHE", "SSH_KEYSCAN_HOSTS")) {
            assertThat(SecretNames.looksSecret(name)).as(name).isFalse();
        }
        assertThat(SecretNames.looksSecret("SSH_KEY_PATH", "/run/secrets/ssh")).isFalse();
    }

    /** The Docker secrets convention: the variable says where the secret is mounted, the secret is not in it. */
    @Test
    void aNameForWhereASecretIsKeptWithAPathIsNotOne() {
        assertThat(SecretNames.looksSecret("POSTGRES_PASSWORD_FILE", "/run/secrets/db")).isFalse();
        assertThat(SecretNames.looksSecret("github-token-path", "./secrets/gh")).isFalse();
        assertThat(SecretNames.looksSecret("SIGNING_KEY.dir", "~/keys")).isFalse();
        assertThat(SecretNames.looksSecret("DB_PASSWORD_FILENAME", "")).isFalse();
        assertThat(SecretNames.looksSecret("DB_PASSWORD_FILE", null)).isFalse();
        // A value that is no path keeps the name suspect; so does a name that merely contains the word.
        assertThat(SecretNames.looksSecret("DB_PASSWORD_FILE", "hunter2")).isTrue();
        assertThat(SecretNames.looksSecret("DB_PASSWORD_FILE", "run/secrets/db")).isTrue();
        assertThat(SecretNames.looksSecret("DB_PASSWORD_FILE", "/x hunter2")).isTrue();
        assertThat(SecretNames.looksSecret("API_TOKEN_PATH", "/Zm9vYmFy+YmF6cXV4=")).isTrue();
        assertThat(SecretNames.looksSecret("API_TOKEN_PATH", "/run/secrets/api:token")).isTrue();
        assertThat(SecretNames.looksSecret("TOKENFILE", "/run/secrets/t")).isTrue();
        assertThat(SecretNames.looksSecret("DB_PASSWORD_FILES_TOKEN", "/x")).isTrue();
        assertThat(SecretNames.looksSecret("DB_PASSWORD", "/run/secrets/db")).isTrue();
        assertThat(SecretNames.looksSecret("_FILE", "/x")).isFalse();
    }

    @Test
    void redactionStillHidesTheLocationsValue() {
        assertThat(SecretNames.redact(Map.of("POSTGRES_PASSWORD_FILE", "/run/secrets/db")))
                .containsEntry("POSTGRES_PASSWORD_FILE", SecretNames.REDACTED);
    }
}
