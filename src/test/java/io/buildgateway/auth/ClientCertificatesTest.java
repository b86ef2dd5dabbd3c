package io.buildgateway.auth;

import static org.assertj.core.api.Assertions.assertThat;

import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Certificate subject to principal, with real certificates. */
class ClientCertificatesTest {

    static final TestCertificates.Identity CA = TestCertificates.ca("CN=Test CI CA,O=Example");

    private final ClientCertificates certificates = new ClientCertificates(new AuthProperties.Mtls(List.of(
            new AuthProperties.Mtls.Client("cn=ci-payments, ou=CI, o=Example", null, Set.of(Role.BUILDER),
                    Set.of("payments")),
            new AuthProperties.Mtls.Client("CN=scanner,O=Example", "security-scanner", Set.of(Role.SECURITY),
                    Set.of()))));

    private static X509Certificate[] chain(String subject) {
        TestCertificates.Identity client = TestCertificates.client(CA, subject);
        return new X509Certificate[] {client.certificate(), CA.certificate()};
    }

    @Test
    void aMappedSubjectBecomesItsPrincipalWhateverTheCaseAndSpacing() {
        ClientCertificates.Result r = certificates.resolve(chain("CN=ci-payments,OU=CI,O=Example"));

        assertThat(r.failure()).isNull();
        assertThat(r.principal().name()).isEqualTo("mtls:ci-payments");
        assertThat(r.principal().roles()).containsExactly(Role.BUILDER);
        assertThat(r.principal().teams()).containsExactly("payments");
        assertThat(certificates.resolve(chain("CN=scanner,O=Example")).principal().name())
                .isEqualTo("mtls:security-scanner");
    }

    @Test
    void anUnmappedSubjectAuthenticatesNobody() {
        ClientCertificates.Result r = certificates.resolve(chain("CN=ci-payments,OU=CI,O=Elsewhere"));

        assertThat(r.principal()).isNull();
        assertThat(r.failure()).contains("CN=ci-payments,OU=CI,O=Elsewhere").contains("not mapped");
        // The attributes and their order are part of the name.
        assertThat(certificates.resolve(chain("O=Example,OU=CI,CN=ci-payments")).principal()).isNull();
        assertThat(certificates.resolve(new X509Certificate[0]).principal()).isNull();
    }
}
