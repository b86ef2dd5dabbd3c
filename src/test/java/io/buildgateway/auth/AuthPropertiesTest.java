package io.buildgateway.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.springframework.boot.context.properties.bind.BindException;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.bind.PropertySourcesPlaceholdersResolver;
import org.springframework.boot.context.properties.source.ConfigurationPropertySources;
import org.springframework.boot.convert.ApplicationConversionService;
import org.springframework.boot.env.YamlPropertySourceLoader;
import org.springframework.core.env.MapPropertySource;
import org.springframework.core.env.MutablePropertySources;
import org.springframework.core.io.FileSystemResource;

/** The auth settings as an operator writes them: bound the way Spring Boot binds them, and validated. */
class AuthPropertiesTest {

    private static AuthProperties bind(Map<String, Object> properties) {
        MutablePropertySources sources = new MutablePropertySources();
        sources.addFirst(new MapPropertySource("test", properties));
        ApplicationConversionService conversion = new ApplicationConversionService();
        conversion.addConverter(new TokenLifetimesConverter());
        Binder binder = new Binder(ConfigurationPropertySources.from(sources), null, conversion);
        return binder.bindOrCreate("gateway.auth", AuthProperties.class);
    }

    @Test
    void defaultsNeedNoIdentityProvider() {
        AuthProperties p = bind(Map.of());

        assertThat(p.oidc().enabled()).isFalse();
        assertThat(p.mtls().clients()).isEmpty();
        assertThat(p.maxTokenLifetime().forRoles(Set.of(Role.ADMIN))).isEqualTo(Duration.ofDays(365));
        assertThat(p.rotationGracePeriod()).isEqualTo(Duration.ofHours(24));
        assertThat(p.lastUsedResolution()).isEqualTo(Duration.ofMinutes(1));
        assertThat(p.tokenCheckTtl()).isEqualTo(Duration.ofSeconds(2));
    }

    @Test
    void theTokenCheckTtlIsBoundedSoARevocationElsewhereIsNeverLateByMoreThanHalfAMinute() {
        assertThat(bind(Map.of("gateway.auth.token-check-ttl", "0s")).tokenCheckTtl()).isZero();
        assertThat(bind(Map.of("gateway.auth.token-check-ttl", "30s")).tokenCheckTtl()).hasSeconds(30);
        assertThatThrownBy(() -> bind(Map.of("gateway.auth.token-check-ttl", "31s")))
                .hasStackTraceContaining("token-check-ttl must be between 0 and PT30S");
        assertThatThrownBy(() -> bind(Map.of("gateway.auth.token-check-ttl", "-1s")))
                .hasStackTraceContaining("token-check-ttl must be between 0 and PT30S");
    }

    @Test
    void oneLifetimeForEveryRoleAsBefore() {
        AuthProperties p = bind(Map.of("gateway.auth.max-token-lifetime", "90d"));

        for (Role role : Role.values()) {
            assertThat(p.maxTokenLifetime().of(role)).isEqualTo(Duration.ofDays(90));
        }
    }

    @Test
    void lifetimesPerRoleWithADefaultAndTheStrictestWins() {
        AuthProperties p = bind(Map.of("gateway.auth.max-token-lifetime.default", "180d",
                "gateway.auth.max-token-lifetime.ADMIN", "7d",
                "gateway.auth.max-token-lifetime.builder", "P30D"));

        TokenLifetimes l = p.maxTokenLifetime();
        assertThat(l.of(Role.ADMIN)).isEqualTo(Duration.ofDays(7));
        assertThat(l.of(Role.BUILDER)).isEqualTo(Duration.ofDays(30));
        assertThat(l.of(Role.AUDITOR)).isEqualTo(Duration.ofDays(180));
        assertThat(l.forRoles(Set.of(Role.BUILDER, Role.ADMIN))).isEqualTo(Duration.ofDays(7));
        assertThat(l.forRoles(Set.of(Role.BUILDER, Role.DEPLOYER))).isEqualTo(Duration.ofDays(30));
    }

    @Test
    void oidcMapsWithNestedClaimsAndBracketedGroupNames() {
        AuthProperties p = bind(Map.of(
                "gateway.auth.oidc.issuer-uri", "https://sso.corp.example/realms/corp",
                "gateway.auth.oidc.jwk-set-uri", "https://sso.corp.example/realms/corp/protocol/openid-connect/certs",
                "gateway.auth.oidc.audiences[0]", "build-gateway",
                "gateway.auth.oidc.roles-claim", "realm_access.roles",
                "gateway.auth.oidc.role-map.gateway-builders[0]", "BUILDER",
                "gateway.auth.oidc.role-map.[CORP\\GW Admins][0]", "ADMIN",
                "gateway.auth.oidc.team-prefix", "team-",
                "gateway.auth.oidc.team-map.[payments.core][0]", "payments"));

        AuthProperties.Oidc oidc = p.oidc();
        assertThat(oidc.enabled()).isTrue();
        assertThat(oidc.usernameClaim()).isEqualTo("preferred_username");
        assertThat(oidc.groupsClaim()).isEqualTo("groups");
        assertThat(oidc.roleMap()).containsEntry("gateway-builders", Set.of(Role.BUILDER))
                .containsEntry("CORP\\GW Admins", Set.of(Role.ADMIN));
        assertThat(oidc.teamMap()).containsEntry("payments.core", Set.of("payments"));
        assertThat(oidc.jwsAlgorithms()).containsExactly("RS256");
    }

    @Test
    void anIdentityProviderWithoutAudienceIsRefusedAtStart() {
        assertThatThrownBy(() -> bind(Map.of("gateway.auth.oidc.issuer-uri", "https://sso.corp.example/realms/corp")))
                .isInstanceOf(BindException.class)
                .rootCause().hasMessageContaining("audiences");
        assertThatThrownBy(() -> bind(Map.of("gateway.auth.oidc.issuer-uri", "https://sso.corp.example",
                "gateway.auth.oidc.audiences[0]", "gw", "gateway.auth.oidc.jws-algorithms[0]", "HS256")))
                .rootCause().hasMessageContaining("HS256");
    }

    @Test
    void clientCertificatesAreValidatedAtStart() {
        AuthProperties p = bind(Map.of("gateway.auth.mtls.clients[0].subject", "CN=ci-payments, OU=CI, O=Example",
                "gateway.auth.mtls.clients[0].roles[0]", "BUILDER",
                "gateway.auth.mtls.clients[0].teams[0]", "payments"));

        assertThat(p.mtls().clients().get(0).name()).isEqualTo("ci-payments");
        assertThatThrownBy(() -> bind(Map.of("gateway.auth.mtls.clients[0].subject", "not a dn",
                "gateway.auth.mtls.clients[0].roles[0]", "BUILDER"))).rootCause().hasMessageContaining("not a distinguished name");
        assertThatThrownBy(() -> bind(Map.of("gateway.auth.mtls.clients[0].subject", "CN=x"))).rootCause()
                .hasMessageContaining("at least one role");
        assertThatThrownBy(() -> bind(Map.of("gateway.auth.mtls.clients[0].subject", "CN=x",
                "gateway.auth.mtls.clients[0].roles[0]", "BUILDER",
                "gateway.auth.mtls.clients[1].subject", "cn=X",
                "gateway.auth.mtls.clients[1].roles[0]", "ADMIN"))).rootCause().hasMessageContaining("twice");
    }

    @Test
    void theExampleConfigurationAndTheDefaultsBind() throws Exception {
        var loader = new YamlPropertySourceLoader();
        for (String file : List.of("config/gateway.example.yaml", "src/main/resources/application.yaml")) {
            MutablePropertySources sources = new MutablePropertySources();
            loader.load(file, new FileSystemResource(file)).forEach(sources::addLast);
            ApplicationConversionService conversion = new ApplicationConversionService();
            conversion.addConverter(new TokenLifetimesConverter());
            AuthProperties p = new Binder(ConfigurationPropertySources.from(sources),
                    new PropertySourcesPlaceholdersResolver(sources),
                    conversion).bindOrCreate("gateway.auth", AuthProperties.class);
            assertThat(p.oidc().enabled()).as(file).isFalse();
            if (file.startsWith("config")) {
                assertThat(p.maxTokenLifetime().of(Role.ADMIN)).isEqualTo(Duration.ofDays(14));
                assertThat(p.maxTokenLifetime().of(Role.BUILDER)).isEqualTo(Duration.ofDays(90));
            } else {
                assertThat(p.maxTokenLifetime().of(Role.ADMIN)).isEqualTo(Duration.ofDays(365));
            }
        }
    }

    @Test
    void secretsStayOutOfToString() {
        AuthProperties p = bind(Map.of("gateway.auth.bootstrap-token", "super-secret-bootstrap-value",
                "gateway.auth.scrape-token", "scrape-secret-value"));

        assertThat(p.toString()).doesNotContain("super-secret").doesNotContain("scrape-secret").contains("***");
        assertThat(List.of(p.oidc().toString(), p.mtls().toString())).allSatisfy(s -> assertThat(s).isNotBlank());
    }
}
