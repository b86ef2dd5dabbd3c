package io.buildgateway.policy;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Findings quote the Dockerfile, and credentials written in it are masked in every finding (a review's finding,
 * 2026-12-07: tls-verification-disabled quoted an Authorization header, add-url-outside-egress a token= parameter, the
 * unpinned-package rules a URL's user info).
 */
class FindingTextTest {

    private static final String GHP = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8";
    private static final String GLPAT = "glpat-" + "Xy12Ab34Cd56Ef78Gh90";
    private static final PolicyEvaluator SHIPPED = new PolicyEvaluator(
            () -> PolicyStore.load(Path.of("config", "policy"), List.of()), Policies.NOV_2026);

    @Test
    void masksUserInfoSecretParametersAuthorizationAndKnownTokens() {
        assertThat(FindingText.scrub("pip install git+https://oauth2:" + GLPAT + "@gitlab.example/t/tool.git"))
                .isEqualTo("pip install git+https://***@gitlab.example/t/tool.git");
        assertThat(FindingText.scrub("git clone https://" + GHP + "@github.com/org/repo"))
                .isEqualTo("git clone https://***@github.com/org/repo");
        assertThat(FindingText.scrub("ADD of https://h/x?token=s3cr3tvalue&v=2: not in the egress allowlist"))
                .isEqualTo("ADD of https://h/x?token=***&v=2: not in the egress allowlist");
        assertThat(FindingText.scrub("https://b.s3.amazonaws.com/a?X-Amz-Algorithm=AWS4-HMAC-SHA256"
                + "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F2026&X-Amz-Signature=abcdef0123"))
                .isEqualTo("https://b.s3.amazonaws.com/a?X-Amz-Algorithm=AWS4-HMAC-SHA256"
                        + "&X-Amz-Credential=***&X-Amz-Signature=***");
        assertThat(FindingText.scrub("curl -k -H \"Authorization: token " + GHP + "\" https://api.example"))
                .isEqualTo("curl -k -H \"Authorization: token ***\" https://api.example");
        assertThat(FindingText.scrub("curl -H 'Authorization: Basic dXNlcjpwYXNz' x"))
                .isEqualTo("curl -H 'Authorization: Basic ***' x");
        // The read-through's forms (2026-12-07): any scheme, other credential headers, curl -u, --password word.
        assertThat(FindingText.scrub("curl -H 'Authorization: OAuth s3cr3t-oauth' -H 'PRIVATE-TOKEN: glx1234567'"
                + " -H 'Cookie: session=abc123' -u deploy:S3cr3t --password Pa55word x"))
                .doesNotContain("s3cr3t-oauth", "glx1234567", "abc123", "S3cr3t", "Pa55word")
                .contains("-u deploy:***", "--password ***");
        assertThat(FindingText.scrub("npm config set //registry.npmjs.org/:_authToken=npm_abcdef123456"))
                .doesNotContain("npm_abcdef123456");
        assertThat(FindingText.scrub("https://h/cb#access_token=ya29.abc&x=1")).doesNotContain("ya29.abc");
        assertThat(FindingText.scrub("--password=\"Pa#ss word\" x")).doesNotContain("Pa#ss", "word\"");
        assertThat(FindingText.scrub("ADD of https://h/x?token=Zk3u;Secret-Part-2.tgz: not allowed"))
                .doesNotContain("Secret-Part-2");
        // The last read-through's forms: pairs inside a value whose name does not look secret, and headers in a
        // command's text with its quotes removed (one credential word masked, the rest of the command kept).
        assertThat(FindingText.scrub("ONBUILD ENV ConnectionStrings__Db=\"Server=db;User Id=sa;Password=Hunter2!\""))
                .doesNotContain("Hunter2");
        assertThat(FindingText.scrub("sudo -u app CONN=Host=db;Username=app;Password=hunter2 ./migrate"))
                .doesNotContain("hunter2").contains("./migrate");
        assertThat(FindingText.scrub("curl -k https://h/x?user=bob;password=hunter2 -d client_id=app,client_secret=s3"))
                .doesNotContain("hunter2", "client_secret=s3");
        assertThat(FindingText.scrub("curl -k -H Authorization: Bearer $TOKEN -H X-Api-Key: s3cr3tkey https://api/v1"))
                .doesNotContain("s3cr3tkey").contains("Bearer $TOKEN", "https://api/v1");
        assertThat(FindingText.scrub("curl -k -H Authorization: token ghp_x https://api.example/v1 -o /tmp/x"))
                .isEqualTo("curl -k -H Authorization: token *** https://api.example/v1 -o /tmp/x");
        assertThat(FindingText.scrub("wget --header=\"Bearer eyJhbGciOi.x\" u")).doesNotContain("eyJhbGciOi");
        assertThat(FindingText.scrub("RUN DB_PASSWORD=hunter22 ./migrate --api-key=k3y")).isEqualTo(
                "RUN DB_PASSWORD=*** ./migrate --api-key=***");
        assertThat(FindingText.scrub("echo " + GHP + " AKIAIOSFODNN7EXAMPLE")).isEqualTo("echo *** ***");
    }

    /**
     * Passwords given to commands as options (a review's finding, 2026-12-07): curl's -u written against the option or
     * with --user=, sshpass -p, the MySQL clients' -p written against the option, wget's --http-password and
     * --ftp-password as a next word, credential headers other than X-Api-Key.
     */
    @Test
    void masksPasswordsGivenToCommandsAsOptions() {
        String pw = "Hunt3r2pw";
        Map<String, String> masked = new java.util.LinkedHashMap<>();
        masked.put("curl -ubob:" + pw + " https://h/x", "curl -ubob:*** https://h/x");
        masked.put("curl --user=bob:" + pw + " https://h/x", "curl --user=bob:*** https://h/x");
        masked.put("curl --user bob:" + pw + " https://h/x", "curl --user bob:*** https://h/x");
        masked.put("curl --user=\"bob:" + pw + "\" https://h/x", "curl --user=\"bob:***\" https://h/x");
        masked.put("curl -u 'bob:" + pw + "' https://h/x", "curl -u 'bob:***' https://h/x");
        masked.put("curl --proxy-user=px:" + pw + " -x p https://h", "curl --proxy-user=px:*** -x p https://h");
        masked.put("curl -Upx:" + pw + " -x p https://h", "curl -Upx:*** -x p https://h");
        masked.put("sshpass -p " + pw + " ssh deploy@host", "sshpass -p *** ssh deploy@host");
        masked.put("sshpass -p" + pw + " scp a host:b", "sshpass -p*** scp a host:b");
        masked.put("sshpass -p '" + pw + " x' ssh host", "sshpass -p '***' ssh host");
        masked.put("sshpass -v -P assword: -p " + pw + " ssh host", "sshpass -v -P assword: -p *** ssh host");
        masked.put("mysql -p" + pw + " -h db app", "mysql -p*** -h db app");
        masked.put("mysql -uroot -h db -p'" + pw + "' app", "mysql -uroot -h db -p'***' app");
        masked.put("mysql -p\"" + pw + "\" app", "mysql -p\"***\" app");
        masked.put("mysql --password=" + pw + " app", "mysql --password=*** app");
        masked.put("mysqladmin -p" + pw + " ping", "mysqladmin -p*** ping");
        masked.put("mysqldump -u root -p" + pw + " app > /tmp/app.sql", "mysqldump -u root -p*** app > /tmp/app.sql");
        masked.put("/usr/bin/mariadb-dump -p" + pw + " app", "/usr/bin/mariadb-dump -p*** app");
        masked.put("PGPASSWORD=" + pw + " psql -h db", "PGPASSWORD=*** psql -h db");
        masked.put("wget --password=" + pw + " u", "wget --password=*** u");
        masked.put("wget --http-password=" + pw + " u", "wget --http-password=*** u");
        masked.put("wget --ftp-password=" + pw + " u", "wget --ftp-password=*** u");
        masked.put("wget --ftp-password " + pw + " u", "wget --ftp-password *** u");
        masked.put("wget --http-password " + pw + " u", "wget --http-password *** u");
        masked.put("git clone https://bob:" + pw + "@git.example/t/r", "git clone https://***@git.example/t/r");
        masked.put("tool --token " + pw + " up", "tool --token *** up");
        masked.put("tool --token=" + pw + " up", "tool --token=*** up");
        masked.put("curl -H 'X-Api-Key: " + pw + "' u", "curl -H 'X-Api-Key: ***' u");
        masked.put("curl -H 'X-Vault-Token: " + pw + "' u", "curl -H 'X-Vault-Token: ***' u");
        masked.put("curl -H \"X-Auth-Key:" + pw + "\" u", "curl -H \"X-Auth-Key:***\" u");
        masked.put("curl -H X-Api-Secret: " + pw + " u", "curl -H X-Api-Secret: *** u");
        // a quoted user:password whose password has a space; the exec form's words (a reviewer's finds)
        masked.put("curl -u 'bob:p " + pw + "' https://h/x", "curl -u 'bob:***' https://h/x");
        masked.put("curl --user=\"bob:p " + pw + "\" https://h/x", "curl --user=\"bob:***\" https://h/x");
        masked.put("[\"curl\",\"-u\",\"bob:" + pw + "\",\"https://h/x\"]",
                "[\"curl\",\"-u\",\"bob:***\",\"https://h/x\"]");
        masked.put("[\"mysql\", \"-p" + pw + "\", \"app\"]", "[\"mysql\", \"-p***\", \"app\"]");
        masked.put("[\"sshpass\",\"-p\",\"" + pw + "\",\"ssh\",\"h\"]",
                "[\"sshpass\",\"-p\",\"***\",\"ssh\",\"h\"]");
        masked.put("[\"tool\",\"--token\",\"" + pw + "\"]", "[\"tool\",\"--token\",\"***\"]");
        masked.forEach((text, expected) -> assertThat(FindingText.scrub(text)).as(text).isEqualTo(expected));
        // A value cut by a finding's "…" keeps its mark; a variable reference is no credential written in the file.
        assertThat(FindingText.scrub("RUN mysql -p" + pw.substring(0, 4) + "…")).isEqualTo("RUN mysql -p***…");
        assertThat(FindingText.scrub("sshpass -p \"$SSH_PASS\" ssh h; mysql -p$DB_PW")).doesNotContain("***");
    }

    /** -p is a password for sshpass and the MySQL clients only; elsewhere a port, parents, a flag: left as written. */
    @Test
    void leavesOtherCommandsOptionsAsTheyAre() {
        for (String plain : List.of(
                "mysql -h db -P 3306 app",
                "mysql -p -h db app",
                "ssh -p 2222 deploy@host",
                "sshpass -e ssh -p 2222 host",
                "sshpass -f /run/secrets/ssh ssh -p 2222 host",
                "RUN mkdir -p /var/run/mysqld && chown mysql /var/run/mysqld",
                "apt-get install -y apt-utils default-mysql-client && mkdir -p/opt/x",
                "docker-php-ext-install pdo_mysql && cp -p a b",
                "curl -uLo file https://h/x",
                "curl -u bob https://h/x",
                "curl -u bob:$PASS https://h/x",
                "curl --user=$USER:${PASS} https://h/x",
                "wget --ask-password u",
                "docker login --password-stdin r.example",
                "see the X-Frame-Options: deny header",
                "a linux-key: fingerprint")) {
            assertThat(FindingText.scrub(plain)).isEqualTo(plain);
        }
    }

    @Test
    void leavesMessagesWithoutCredentialsAsTheyAre() {
        for (String plain : List.of(
                "RUN uses curl -k (--insecure): TLS verification is disabled",
                "pip install of git+ssh://git@git.example/team/tool.git is not pinned",
                "curl -H \"Authorization: Bearer $TOKEN\" https://api.example",
                "ADD of https://h/x?v=1.2&arch=amd64: not in the egress allowlist",
                "--mount=type=secret,id=npm_token,target=/root/.npmrc",
                "ENV GPG_KEY=A035C8C19219BA821ECEA86B64E628F8D684696D",
                "a basic image for a token of trust; authorized users only",
                "ADD of https://h/x?token=[build arg URL]: not allowed",
                "")) {
            assertThat(FindingText.scrub(plain)).isEqualTo(plain);
        }
        assertThat(FindingText.scrub(null)).isNull();
    }

    @Test
    void everyFindingIsScrubbedWhicheverRuleMadeIt() {
        String dockerfile = String.join("\n",
                "FROM 127.0.0.1:5000/base/debian:12@sha256:" + "ab".repeat(32),
                "ARG T=s3cr3tvalue",
                "ADD https://files.example/x?token=${T} /x",
                "RUN curl -k -H \"Authorization: token " + GHP + "\" https://api.example/x",
                "RUN pip install --no-cache-dir git+https://oauth2:" + GLPAT + "@gitlab.example/t/tool.git",
                "USER 1000", "");
        Evaluation e = SHIPPED.evaluate(new PolicyEvaluator.Request(dockerfile, Map.of(), null, "corpus",
                "corpus/app", Set.of(), null, true, null));

        assertThat(e.findings()).extracting(Finding::rule)
                .contains("add-url-outside-egress", "tls-verification-disabled", "pip-unpinned");
        assertThat(e.findings().toString()).doesNotContain("s3cr3tvalue").doesNotContain(GHP)
                .doesNotContain(GLPAT).doesNotContain("oauth2:");
    }
}
