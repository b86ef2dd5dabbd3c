package io.buildgateway.policy;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The classes of disagreement with hadolint that issue #12 lists (misses, false alarms, pins accepted unevenly),
 * each as a case that must fire and a neighbouring case that must stay quiet. Cases are written from each rule's
 * semantics; every RUN is at line 2.
 */
class LintAgreementTest {

    private static final String BASE = "FROM reg.local/base/debian:12\n";
    private static final PolicyEvaluator POLICY = Policies.evaluator("approvedImages: [reg.local/base/]\n");

    private static List<String> rulesAt(String dockerfile, int line) {
        return POLICY.evaluate(dockerfile, Map.of(), null).findings().stream()
                .filter(f -> f.line() != null && f.line() == line).map(Finding::rule).toList();
    }

    static Stream<Arguments> fires() {
        return Stream.of(
                // misses
                Arguments.of("go-install-unpinned", "RUN go get github.com/x/y"),
                Arguments.of("go-install-unpinned", "RUN go run github.com/x/gen"),
                Arguments.of("go-install-unpinned", "RUN go install github.com/x/y@latest"),
                Arguments.of("npm-unpinned", "RUN npm install git+https://github.com/x/y.git"),
                Arguments.of("npm-unpinned", "RUN npm install https://github.com/x/y"),
                Arguments.of("npm-unpinned", "RUN npm i express"),
                Arguments.of("pip-unpinned", "RUN pip install git+https://github.com/x/y.git"),
                Arguments.of("pip-unpinned", "RUN pip install git+ssh://git@github.com/x/y.git"),
                Arguments.of("pip-unpinned", "RUN pip install https://example.com/download"),
                Arguments.of("pip-unpinned", "RUN pip2 install flask"),
                Arguments.of("pip-unpinned", "RUN pipx install black"),
                Arguments.of("pip-unpinned", "RUN pip3.12 install flask"),
                Arguments.of("gem-unpinned", "RUN gem i rails"),
                Arguments.of("apt-unpinned", "RUN aptitude install -y curl"),
                Arguments.of("tls-verification-disabled", "HEALTHCHECK CMD curl -k https://localhost/ || exit 1"),
                Arguments.of("curl-pipe-shell", "HEALTHCHECK CMD curl -s http://localhost/h | sh"),
                Arguments.of("yum-dnf-unpinned", "RUN dnf module install -y nodejs"),
                Arguments.of("apk-unpinned", "RUN apk add 'curl<8'"),
                // a flag of an ONBUILD RUN trigger
                Arguments.of("run-mount-ssh", "ONBUILD RUN --mount=type=ssh git clone git@x:y"),
                Arguments.of("run-network-host", "ONBUILD RUN --network=host true"),
                // WORKDIR in single quotes is still relative
                Arguments.of("relative-workdir", "WORKDIR 'app'"));
    }

    @ParameterizedTest(name = "{0}: {1}")
    @MethodSource("fires")
    void fires(String rule, String line) {
        assertThat(rulesAt(BASE + line + "\nUSER 1\n", 2)).contains(rule);
    }

    static Stream<Arguments> quiet() {
        return Stream.of(
                // false alarms: option values, local sources, modules, groups, quoted paths
                Arguments.of("npm-unpinned", "RUN npm install --loglevel verbose express@4.19.2"),
                Arguments.of("pip-unpinned", "RUN pip install --root-user-action ignore flask==3.0.0"),
                Arguments.of("gem-unpinned", "RUN gem install nokogiri:1.16.0 -- --use-system-libraries true"),
                Arguments.of("npm-unpinned", "RUN npm install ./pkg.tgz"),
                Arguments.of("npm-unpinned", "RUN npm install ~/folder"),
                Arguments.of("npm-unpinned", "RUN npm install mypkg.tar.gz"),
                Arguments.of("npm-unpinned", "RUN npm install git+https://github.com/x/y.git#v1.2.3"),
                Arguments.of("npm-unpinned", "RUN npm install @scope/name@1.2.3"),
                Arguments.of("pip-unpinned", "RUN pip install foo/bar"),
                Arguments.of("pip-unpinned", "RUN pip install mypkg.tar.gz"),
                Arguments.of("pip-unpinned", "RUN pip install git+https://github.com/x/y.git@v1.2"),
                Arguments.of("pip-unpinned", "RUN pip install git+ssh://git@github.com/x/y.git@0123abcd"),
                Arguments.of("pip-unpinned", "RUN pip install https://example.com/y-1.0.tar.gz"),
                Arguments.of("pip-unpinned", "RUN pip install -c constraints.txt flask"),
                Arguments.of("go-install-unpinned", "RUN go install ."),
                Arguments.of("go-install-unpinned", "RUN go run ./cmd/gen -out x"),
                Arguments.of("go-install-unpinned", "RUN go run github.com/x/gen@v1.2.0 -out file"),
                Arguments.of("go-install-unpinned", "RUN go get github.com/x/y@v1.2.3"),
                Arguments.of("yum-dnf-unpinned", "RUN yum module install -y tomcat:9"),
                Arguments.of("yum-dnf-unpinned", "RUN dnf module install -y tomcat:9"),
                Arguments.of("yum-dnf-unpinned", "RUN dnf group install -y \"Development Tools\""),
                Arguments.of("relative-workdir", "WORKDIR '/usr/local'"),
                Arguments.of("cd-in-run", "HEALTHCHECK CMD cd /app && ./check"),
                // pins as hadolint accepts them, per manager
                Arguments.of("pip-unpinned", "RUN pip install 'flask~=3.0' 'jinja2<4' 'click>=8' 'a!=1' 'b===2'"),
                Arguments.of("apk-unpinned", "RUN apk add curl~8.5 'musl>=1.2' zlib=1.3.1-r0"),
                Arguments.of("zypper-unpinned", "RUN zypper in -y 'curl>=8' \"vim<10\""),
                Arguments.of("apt-unpinned", "RUN aptitude install -y curl=7.88.1-10"),
                Arguments.of("gem-unpinned", "RUN gem i rails:7.1.3"));
    }

    @ParameterizedTest(name = "{0}: {1}")
    @MethodSource("quiet")
    void staysQuiet(String rule, String line) {
        assertThat(rulesAt(BASE + line + "\nUSER 1\n", 2)).doesNotContain(rule);
    }

    @Test
    void aVersionVariableOfAnotherStageIsNotAPin() {
        String other = "FROM reg.local/base/debian:12 AS a\nARG V=1.2.3\nRUN true\n"
                + "FROM reg.local/base/node:20\nRUN npm install left-pad@${V}\nUSER 1\n";
        assertThat(rulesAt(other, 5)).contains("npm-unpinned");
        String same = "FROM reg.local/base/node:20\nARG V=1.2.3\nRUN npm install left-pad@${V}\nUSER 1\n";
        assertThat(rulesAt(same, 3)).doesNotContain("npm-unpinned");
        // a global ARG is in scope in a stage only when the stage declares it again
        String global = "ARG V=1.2.3\nFROM reg.local/base/node:20\nRUN npm install left-pad@$V\nUSER 1\n";
        assertThat(rulesAt(global, 3)).contains("npm-unpinned");
        String redeclared = "ARG V=1.2.3\nFROM reg.local/base/node:20\nARG V\nRUN npm install left-pad@$V\nUSER 1\n";
        assertThat(rulesAt(redeclared, 4)).doesNotContain("npm-unpinned");
        // ENV of the stage a stage builds FROM is inherited; a variable the file never declares may come from the base
        String inherited = "FROM reg.local/base/node:20 AS b\nENV V=1.2.3\nFROM b\nRUN npm install left-pad@$V\n"
                + "USER 1\n";
        assertThat(rulesAt(inherited, 4)).doesNotContain("npm-unpinned");
        String fromBase = "FROM reg.local/base/node:20\nRUN npm install left-pad@$NODE_PKG_VERSION\nUSER 1\n";
        assertThat(rulesAt(fromBase, 2)).doesNotContain("npm-unpinned");
    }

    @Test
    void anOnbuildRunCacheMountOnAptListsCountsAsCleaning() {
        String f = BASE + "ONBUILD RUN --mount=type=cache,target=/var/lib/apt apt-get update && apt-get install -y"
                + " --no-install-recommends curl=7.88.1-10\nUSER 1\n";
        assertThat(rulesAt(f, 2)).doesNotContain("apt-lists-not-cleaned").doesNotContain("apt-unpinned");
        String g = BASE + "ONBUILD RUN apt-get update && apt-get install -y --no-install-recommends curl=7.88.1-10\n"
                + "USER 1\n";
        assertThat(rulesAt(g, 2)).contains("apt-lists-not-cleaned");
    }

    @Test
    void pinPredicatesFollowEachManager() {
        assertThat(BuiltinRunRules.pipPinned("flask~=3.0")).isTrue();
        assertThat(BuiltinRunRules.pipPinned("flask<4")).isTrue();
        assertThat(BuiltinRunRules.pipPinned("flask")).isFalse();
        assertThat(BuiltinRunRules.pipPinned("git+https://h/x/y.git")).isFalse();
        assertThat(BuiltinRunRules.pipPinned("git+https://h/x/y.git@v1")).isTrue();
        assertThat(BuiltinRunRules.pipPinned("git+ssh://git@h/x/y.git")).isFalse();
        assertThat(BuiltinRunRules.npmPinned("github:x/y")).isFalse();
        assertThat(BuiltinRunRules.npmPinned("github:x/y#abc123")).isTrue();
        assertThat(BuiltinRunRules.npmPinned("@scope/name")).isFalse();
        assertThat(BuiltinRunRules.npmPinned("https://r.example/x/-/x-1.0.0.tgz")).isTrue();
        assertThat(BuiltinRunRules.aptPinned("curl/bookworm-backports")).isFalse();
        assertThat(BuiltinRunRules.aptPinned("./pkg.deb")).isTrue();
        assertThat(BuiltinRunRules.goLocal("./cmd/app")).isTrue();
        assertThat(BuiltinRunRules.goLocal("example.com/x/cmd")).isFalse();
    }

    @Test
    void redirectionsAreNotWords() {
        assertThat(ShellCommands.split("apt-get install -y curl=1 > /dev/null 2>&1 && npm i a@1 &>/tmp/log")
                .stream().map(ShellCommands.Command::words).toList())
                .containsExactly(List.of("apt-get", "install", "-y", "curl=1"), List.of("npm", "i", "a@1"));
        assertThat(ShellCommands.split("pip install flask>=3 <in.txt 2>>err").get(0).words())
                .containsExactly("pip", "install", "flask");
        assertThat(ShellCommands.split("python3 <<EOF\nimport x\nEOF").get(0).words()).containsExactly("python3");
        assertThat(ShellCommands.split("diff <(sort a) b").stream().map(ShellCommands.Command::program).toList())
                .contains("sort");
        assertThat(ShellCommands.split("echo \"a > b\" 'c<d' e\\>f").get(0).words())
                .containsExactly("echo", "a > b", "c<d", "e>f");
        // unquoted, the shell reads pkg>=1 as pkg with its output sent to the file =1: pkg is not pinned
        assertThat(rulesAt(BASE + "RUN npm install x@1 >/dev/null 2>&1\nUSER 1\n", 2)).doesNotContain("npm-unpinned");
        assertThat(rulesAt(BASE + "RUN pip install flask>=3\nUSER 1\n", 2)).contains("pip-unpinned");
        // a label's or an ENV's value keeps its < and >
        assertThat(BuiltinRules.splitWords("a=\"x\" b=c>d")).containsExactly("a=x", "b=c>d");
    }

    @Test
    void healthcheckScriptIsTheCommandOfBothForms() {
        assertThat(Subject.healthcheckScript(instruction("HEALTHCHECK --interval=5s CMD curl -f http://l/")))
                .isEqualTo("curl -f http://l/");
        assertThat(Subject.healthcheckScript(instruction("HEALTHCHECK CMD [\"curl\", \"-k\", \"https://l/\"]")))
                .isEqualTo("curl -k https://l/");
        assertThat(Subject.healthcheckScript(instruction("HEALTHCHECK NONE"))).isNull();
    }

    private static io.buildgateway.dockerfile.Instruction instruction(String text) {
        return io.buildgateway.dockerfile.DockerfileParser.parse(text).instructions().get(0);
    }
}
