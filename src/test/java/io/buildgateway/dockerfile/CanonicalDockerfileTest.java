package io.buildgateway.dockerfile;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

class CanonicalDockerfileTest {

    @Test
    void writesDirectivesExplicitlyOneInstructionPerLineWithoutComments() {
        Dockerfile d = DockerfileParser.parse("""
                # syntax=docker/dockerfile:1
                # check=skip=all
                FROM a
                # a comment
                RUN one \\
                # between
                   \t
                  two

                USER x
                """);

        CanonicalDockerfile.Result r = CanonicalDockerfile.write(d, false);

        assertThat(r.problems()).isEmpty();
        assertThat(r.text()).isEqualTo("# syntax=docker/dockerfile:1\n# escape=\\\nFROM a\nRUN one   two\nUSER x\n");
    }

    private static final String DIGEST = "sha256:" + "d".repeat(64);

    /**
     * A FROM whose base was judged is written with the base pinned by the digest that was read (the daemon builds
     * that image, whatever the tag names by then): --platform and the stage name kept as written, a base named
     * through a variable written as the literal that was judged; FROM scratch, a FROM of a stage and COPY --from
     * are not touched (nothing is pinned for them). The output still passes the self-check.
     */
    @Test
    void writesAJudgedBaseByTheDigestThatWasRead() {
        Dockerfile d = DockerfileParser.parse("""
                ARG BASE=reg.local/base/x:1
                FROM --platform=$BUILDPLATFORM ${BASE} as build
                RUN make
                FROM scratch AS empty
                FROM reg.local/base/y:2
                COPY --from=build /out /out
                FROM build
                """);
        java.util.Map<Integer, String> pins = java.util.Map.of(2, "reg.local/base/x:1@" + DIGEST,
                5, "reg.local/base/y:2@" + DIGEST);
        for (boolean buildkit : new boolean[] {true, false}) {
            CanonicalDockerfile.Result r = CanonicalDockerfile.write(d,
                    new CanonicalDockerfile.Options(buildkit, null, null, null, pins::get));

            assertThat(r.problems()).isEmpty();
            assertThat(r.text()).isEqualTo("# escape=\\\nARG BASE=reg.local/base/x:1\n"
                    + "FROM --platform=$BUILDPLATFORM reg.local/base/x:1@" + DIGEST + " as build\nRUN make\n"
                    + "FROM scratch AS empty\nFROM reg.local/base/y:2@" + DIGEST + "\n"
                    + "COPY --from=build /out /out\nFROM build\n");
            Dockerfile again = DockerfileParser.parse(r.text());
            assertThat(BuildStages.plan(again, java.util.Map.of(), null).stages()).extracting(BuildStages.Stage::base)
                    .containsExactly("reg.local/base/x:1@" + DIGEST, "scratch", "reg.local/base/y:2@" + DIGEST,
                            "build");
        }
        // without pins (lint, or no base read): as written
        assertThat(CanonicalDockerfile.write(d, new CanonicalDockerfile.Options(true, null, null)).text())
                .contains("FROM --platform=$BUILDPLATFORM ${BASE} as build\n", "FROM reg.local/base/y:2\n");
        // another escape character
        Dockerfile backtick = DockerfileParser.parse("# escape=`\nFROM reg.local/base/y:2 `\n  AS b\nRUN dir\n");
        assertThat(CanonicalDockerfile.write(backtick, new CanonicalDockerfile.Options(true, null, null, null,
                line -> line == 2 ? "reg.local/base/y:2@" + DIGEST : null)).text())
                .isEqualTo("# escape=`\nFROM reg.local/base/y:2@" + DIGEST + "   AS b\nRUN dir\n");
    }

    /**
     * Every FROM of an image in the corpus and in generated mutations that the writer writes at all can be written
     * pinned: the pin refuses no file that was built before (it would refuse a build that is not otherwise wrong),
     * and what it writes reads back with the pinned bases and nothing else changed.
     */
    @Test
    void everyWritableFromOfTheCorpusCanBePinned() throws IOException {
        List<String> inputs = new ArrayList<>();
        try (Stream<Path> files = Files.list(Path.of("src/test/resources/corpus"))) {
            for (Path f : files.sorted().toList()) {
                inputs.add(Files.readString(f, StandardCharsets.UTF_8));
            }
        }
        DockerfileMutations.generate(1, 2000, "127.0.0.1:5000/base/busybox", 3).forEach(c -> inputs.add(c.text()));
        int pinned = 0;
        for (String text : inputs) {
            Dockerfile parsed = DockerfileParser.parse(text, true);
            CanonicalDockerfile.Options plain = new CanonicalDockerfile.Options(true, "t", null);
            if (CanonicalDockerfile.write(parsed, plain).text() == null) {
                continue;
            }
            BuildStages.Plan plan = BuildStages.plan(parsed, java.util.Map.of(), null, true);
            if (plan == null) {
                continue;
            }
            java.util.Map<Integer, String> pins = new java.util.HashMap<>();
            for (BuildStages.Stage stage : plan.stages()) {
                if (stage.fromImage() && !stage.base().contains("@") && !stage.base().isBlank()
                        && stage.base().chars().noneMatch(c -> Character.isWhitespace(c) || c == '$')) {
                    pins.put(stage.line(), stage.base() + "@" + DIGEST);
                }
            }
            CanonicalDockerfile.Result r = CanonicalDockerfile.write(parsed,
                    new CanonicalDockerfile.Options(true, "t", null, null, pins::get));
            assertThat(r.problems()).as(text).isEmpty();
            BuildStages.Plan again = BuildStages.plan(DockerfileParser.parse(r.text(), true), java.util.Map.of(), null,
                    true);
            for (int i = 0; i < plan.stages().size(); i++) {
                String pin = pins.get(plan.stages().get(i).line());
                assertThat(again.stages().get(i).base()).as(text)
                        .isEqualTo(pin != null ? pin : plan.stages().get(i).base());
                assertThat(again.stages().get(i).name()).isEqualTo(plan.stages().get(i).name());
                pinned += pin != null ? 1 : 0;
            }
        }
        assertThat(pinned).as("FROMs pinned").isGreaterThan(100);
    }

    /** A FROM that does not read back as the same FROM with only its base pinned is refused, not built by tag. */
    @Test
    void refusesAPinThatWouldNotReadBackAsTheSameFrom() {
        Dockerfile d = DockerfileParser.parse("FROM reg.local/base/x:1 AS a\n");
        CanonicalDockerfile.Result r = CanonicalDockerfile.write(d, new CanonicalDockerfile.Options(true, null, null,
                null, line -> "reg.local/base/x:1@" + DIGEST + " AS evil"));
        assertThat(r.text()).isNull();
        assertThat(r.problems()).singleElement().satisfies(p -> assertThat(p.message())
                .contains("cannot be written with its base pinned"));
    }

    /** The labs frontend's bare {@code --parents} stays bare when the COPY's --from is pinned (a review's find). */
    @Test
    void aBareParentsFlagStaysBareBesideAPinnedSource() {
        String pin = "reg.local/base/x:1@" + DIGEST;
        String labs = "reg.local/base/dockerfile:1.7-labs";
        String labsPinned = labs + "@" + DIGEST;
        Dockerfile d = DockerfileParser.parse("# syntax=" + labs + "\nFROM reg.local/base/y:2\n"
                + "COPY --parents --from=reg.local/base/x:1 a/b /d\n");
        CanonicalDockerfile.Result r = CanonicalDockerfile.write(d, new CanonicalDockerfile.Options(true, "t",
                f -> f.equals(labs) ? labsPinned : null, null, null,
                line -> line == 3 ? java.util.Map.of("reg.local/base/x:1", pin) : null));
        assertThat(r.problems()).isEmpty();
        assertThat(r.text()).contains("COPY --parents --from=" + pin + " a/b /d\n").doesNotContain("--parents=");
    }

    /**
     * An image a COPY --from or a mount's from= names, read by the policy, is written pinned by the digest read: the
     * flag's value (or the mount's field) as the literal after substitution, everything else as written (other
     * flags, a bare --link, a cache mount's namespaced id, other mounts, a line continued); a stage or a line with
     * no pin is not touched. With the classic builder too (COPY --from). The output passes the self-check.
     */
    @Test
    void writesAnImageACopyOrAMountReadsFromByTheDigestRead() {
        String pin = "reg.local/base/x:1@" + DIGEST;
        Dockerfile d = DockerfileParser.parse("""
                FROM reg.local/base/y:2 AS tools
                ARG SRC=reg.local/base/x:1
                COPY --from=${SRC} --chown=1:1 --link /a \\
                  /b
                COPY --from=tools /c /c
                RUN --mount=type=cache,target=/var/c --mount=type=bind,from=$SRC,target=/m,ro cp /m/a /b
                COPY --from=reg.local/base/x:1 /d /d
                """);
        java.util.Map<Integer, java.util.Map<String, String>> pins = java.util.Map.of(
                3, java.util.Map.of("${SRC}", pin), 6, java.util.Map.of("$SRC", pin),
                7, java.util.Map.of("reg.local/base/x:1", pin));
        CanonicalDockerfile.Result r = CanonicalDockerfile.write(d,
                new CanonicalDockerfile.Options(true, "t", null, null, null, pins::get));
        assertThat(r.problems()).isEmpty();
        assertThat(r.text()).contains("COPY --from=" + pin + " --chown=1:1 --link /a   /b\n",
                "COPY --from=tools /c /c\n", "COPY --from=" + pin + " /d /d\n");
        Dockerfile again = DockerfileParser.parse(r.text());
        io.buildgateway.dockerfile.Instruction run = again.instructions().stream()
                .filter(i -> i.keyword().equals("RUN")).findFirst().orElseThrow();
        assertThat(run.flags()).extracting(io.buildgateway.dockerfile.Instruction.Flag::value).satisfiesExactly(
                cache -> assertThat(cache).startsWith("type=cache,target=/var/c,id=bgw-t-"),
                bind -> assertThat(bind).isEqualTo("type=bind,from=" + pin + ",target=/m,ro"));
        assertThat(run.arguments()).isEqualTo("cp /m/a /b");

        // the classic builder: COPY --from pinned the same way
        Dockerfile classic = DockerfileParser.parse("FROM reg.local/base/y:2\nCOPY --from=reg.local/base/x:1 /d /d\n");
        assertThat(CanonicalDockerfile.write(classic, new CanonicalDockerfile.Options(false, null, null, null, null,
                line -> line == 2 ? java.util.Map.of("reg.local/base/x:1", pin) : null)).text())
                .isEqualTo("# escape=\\\nFROM reg.local/base/y:2\nCOPY --from=" + pin + " /d /d\n");
        // without pins (lint, or nothing read): as written
        assertThat(CanonicalDockerfile.write(d, new CanonicalDockerfile.Options(true, "t", null)).text())
                .contains("COPY --from=${SRC} --chown=1:1 --link /a", "from=$SRC,target=/m,ro");
    }

    /** A source pin the writer cannot place (the word it was read from is not there as such) refuses the file. */
    @Test
    void refusesASourcePinItCannotWrite() {
        Dockerfile d = DockerfileParser.parse("FROM a\nCOPY --from=reg.local/base/x:1 /a /a\n"
                + "RUN --mount=type=bind,from=reg.local/base/x:1,target=/m true\n");
        for (int at : new int[] {2, 3}) {
            CanonicalDockerfile.Result r = CanonicalDockerfile.write(d, new CanonicalDockerfile.Options(true, "t",
                    null, null, null, line -> line == at ? java.util.Map.of("\0as written elsewhere",
                            "reg.local/base/x:1@" + DIGEST) : null));
            assertThat(r.text()).isNull();
            assertThat(r.problems()).singleElement().satisfies(p -> {
                assertThat(p.line()).isEqualTo(at);
                assertThat(p.message()).contains("cannot be written with the image", "reg.local/base/x:1@" + DIGEST);
            });
        }
        // a mount that is one variable is refused whole by the RUN checks (its from= cannot be told as written)
        Dockerfile whole = DockerfileParser.parse("FROM a\nARG M=from=reg.local/base/x:1\n"
                + "RUN --mount=type=bind,${M},target=/m true\n");
        CanonicalDockerfile.Result r = CanonicalDockerfile.write(whole, new CanonicalDockerfile.Options(true, "t",
                null, null, null, line -> line == 3 ? java.util.Map.of("\0type=bind,${M},target=/m",
                        "reg.local/base/x:1@" + DIGEST) : null));
        assertThat(r.text()).isNull();
        assertThat(r.problems()).anySatisfy(p -> {
            assertThat(p.line()).isEqualTo(3);
            assertThat(p.message()).contains("cannot be written with the image", "reg.local/base/x:1@" + DIGEST);
        });
    }

    @Test
    void writesTheEscapeTheParseUsed() {
        Dockerfile d = DockerfileParser.parse("# escape=`\nFROM a\nRUN dir `\n  c:\\\n");

        assertThat(CanonicalDockerfile.write(d, false).text()).isEqualTo("# escape=`\nFROM a\nRUN dir   c:\\\n");
        // after an unknown directive the daemon ignores `# escape=`: so does the parse, and the text says so
        Dockerfile ignored = DockerfileParser.parse("# check=x\n# escape=`\nFROM a\nENV A=x`\n");
        assertThat(CanonicalDockerfile.write(ignored, false).text()).isEqualTo("# escape=\\\nFROM a\nENV A=x`\n");
    }

    /** dockerd 26's BuildKit panics (the whole daemon) on an empty ${name#…} or ${name%…} pattern: never sent. */
    @Test
    void refusesPatternsThatCrashTheBuildHostsDaemon() {
        for (String line : new String[] {"ENV A=${V#}", "LABEL a=${V%''}", "WORKDIR /${V:#$W}",
                "RUN --mount=type=bind,target=/m${V%} true", "ONBUILD ENV A=${V#}", "COPY --chown=${U#} a /a"}) {
            CanonicalDockerfile.Result r = CanonicalDockerfile.write(DockerfileParser.parse("FROM a\n" + line + "\n"),
                    true);
            assertThat(r.text()).as(line).isNull();
            assertThat(r.problems()).as(line).anySatisfy(p -> {
                assertThat(p.line()).isEqualTo(2);
                assertThat(p.message()).contains("crashes");
            });
        }
        CanonicalDockerfile.Result heredoc = CanonicalDockerfile.write(DockerfileParser.parse(
                "FROM a\nCOPY <<EOF /x\n${V#}\nEOF\n"), true);
        assertThat(heredoc.problems()).singleElement().satisfies(p -> assertThat(p.message()).contains("crashes"));
        // RUN's line and heredocs are expanded too (with unset variables kept as written): a pattern empty as written
        // crashes when the variable is set (PATH always is), one that starts with a variable the file declares may.
        for (String text : new String[] {"FROM a\nRUN echo ${PATH%}\n", "FROM a\nENV Y=\nRUN echo ${PATH#$Y}\n",
                "FROM a\nARG Y\nRUN <<EOF\necho ${HOME%${Y}}\nEOF\n", "FROM a\nENV \"E\"=\nRUN echo ${HOME#$E}\n",
                "FROM a\nARG N=E\nENV ${N}=\nRUN echo ${HOME#$Q}\n", "FROM a\nONBUILD ENV Y=\nRUN echo ${PATH#$Y}\n",
                "FROM a\nRUN --mount=type=tmpfs,target=/t${HOME%$W} true\n",
                // a modifier empties a variable that is certainly set (a read-through's find, 2026-12-07)
                "FROM a\nRUN echo ${PATH#${PATH%%*}}\n", "FROM a\nRUN echo ${PATH#${PATH:+}}\n",
                "FROM a\nRUN echo ${PATH#${PATH/*/}}\n", "FROM a\nRUN echo ${HOME#${HOME#$HOME}}\n"}) {
            assertThat(CanonicalDockerfile.write(DockerfileParser.parse(text), true).problems()).as(text)
                    .anySatisfy(p -> assertThat(p.message()).contains("crashes"));
        }
        // A shell variable of the script itself is unset to BuildKit, which keeps ${f%$ext} as written.
        // RUN keeps quotes (BuildKit's RawQuotes), and a '$' without a name stays: neither pattern is empty.
        assertThat(CanonicalDockerfile.write(DockerfileParser.parse("FROM a\nARG P=x\nRUN for f in *.c; do ext=.c;"
                + " echo ${f%$ext} \"${f#\"$P\"}\" ${f%/*} ${1#-} ${PATH#$1} \"${PATH#''}\" ${l%$'\\r'} ${f#$(pwd)/};"
                + " done\n"), true).problems()).isEmpty();
        String many = "FROM a\nLABEL a=" + "${A}".repeat(Substitution.MAX_DEPTH + 1) + "\n";
        assertThat(CanonicalDockerfile.write(DockerfileParser.parse(many), true).problems()).singleElement()
                .satisfies(p -> assertThat(p.message()).contains("variable substitutions"));
    }

    /**
     * A variable a base image sets to an empty value (the caller read it: {@link CanonicalDockerfile.Options}'s
     * {@code baseVariables}) makes a RUN pattern that starts with it a crash as a variable the file declares does; the
     * problem names the base. Names the base does not set, and a script's own variables, stay allowed.
     */
    @Test
    void refusesARunPatternStartingWithAVariableTheBaseSetsEmpty() {
        java.util.Map<String, String> base = java.util.Map.of("EMPTY",
                "base image 'reg/x:1' sets EMPTY to an empty value (its config's Env)");
        CanonicalDockerfile.Options options = new CanonicalDockerfile.Options(true, null, null, base::get);
        for (String text : new String[] {"FROM a\nRUN echo ${PATH#$EMPTY}\n", "FROM a\nRUN echo ${PATH%${EMPTY}}\n",
                "FROM a\nRUN <<EOF\necho ${HOME:#$EMPTY}\nEOF\n"}) {
            CanonicalDockerfile.Result r = CanonicalDockerfile.write(DockerfileParser.parse(text), options);
            assertThat(r.text()).as(text).isNull();
            assertThat(r.problems()).as(text).singleElement().satisfies(p -> {
                assertThat(p.line()).isEqualTo(2);
                assertThat(p.message()).contains("base image 'reg/x:1' sets EMPTY to an empty value")
                        .contains("crashes");
            });
        }
        // negative controls: a name the base does not set, a script's own variable, a pattern not starting with it
        for (String text : new String[] {"FROM a\nRUN echo ${PATH#$NOT_SET}\n",
                "FROM a\nRUN for f in *.c; do ext=.c; echo ${f%$ext}; done\n", "FROM a\nRUN echo ${PATH#x$EMPTY}\n",
                "FROM a\nRUN echo \"${PATH#\"$EMPTY\"}\"\n"}) {
            assertThat(CanonicalDockerfile.write(DockerfileParser.parse(text), options).problems()).as(text).isEmpty();
        }
        // without the base's environment the same file is written (the gap the option closes)
        assertThat(CanonicalDockerfile.write(DockerfileParser.parse("FROM a\nRUN echo ${PATH#$EMPTY}\n"),
                new CanonicalDockerfile.Options(true, null, null)).problems()).isEmpty();
        // a variable the file declares is named as before, not as the base's
        assertThat(CanonicalDockerfile.write(DockerfileParser.parse("FROM a\nENV EMPTY=\nRUN echo ${PATH#$EMPTY}\n"),
                options).problems()).singleElement().satisfies(p -> assertThat(p.message()).contains("crashes")
                .doesNotContain("base image"));
    }

    @Test
    void heredocsOnlyWhereTheBuilderReadsThem() {
        Dockerfile d = DockerfileParser.parse("FROM a\nRUN <<EOF\nUSER root\nEOF\nUSER x\n");

        CanonicalDockerfile.Result classic = CanonicalDockerfile.write(d, false);
        assertThat(classic.text()).isNull();
        assertThat(classic.problems()).singleElement().satisfies(p -> {
            assertThat(p.line()).isEqualTo(2);
            assertThat(p.message()).contains("heredoc");
        });
        CanonicalDockerfile.Result buildkit = CanonicalDockerfile.write(d, true);
        assertThat(buildkit.problems()).isEmpty();
        assertThat(buildkit.text()).isEqualTo("# escape=\\\nFROM a\nRUN <<EOF\nUSER root\nEOF\nUSER x\n");
    }

    @Test
    void refusesWhatItCannotWriteUnambiguously() {
        // a form feed the daemon keeps in the line
        assertThat(CanonicalDockerfile.write(DockerfileParser.parse("FROM a\nENV A=1 \\\f\nENV B=2\n"), false)
                .problems()).singleElement().satisfies(p -> assertThat(p.line()).isEqualTo(2));
        // a lone carriage return
        assertThat(CanonicalDockerfile.write(DockerfileParser.parse("FROM a\nLABEL a=\"x\ry\"\n"), false).text())
                .isNull();
        // an escape at the end of a joined line would join it with the next
        assertThat(CanonicalDockerfile.write(DockerfileParser.parse("FROM a\nENV A=1 \\\u00A0\nENV B=2\n"), false).problems())
                .isNotEmpty();
        // syntax errors: nothing is written
        assertThat(CanonicalDockerfile.write(DockerfileParser.parse("FROM a\nBOGUS x\n"), false).text()).isNull();
        // a joined line longer than the daemon's line limit
        String longRun = "FROM a\nRUN echo " + ("y".repeat(40_000) + " \\\n").repeat(2) + "z\n";
        assertThat(CanonicalDockerfile.write(DockerfileParser.parse(longRun), false).problems())
                .extracting(CanonicalDockerfile.Problem::message).anySatisfy(m -> assertThat(m).contains("65535"));
    }

    /** Round trip: parse, write, parse gives the same instructions; writing again gives the same text. */
    @Test
    void roundTripsTheWholeCorpusAndGeneratedMutations() throws IOException {
        List<String> inputs = new ArrayList<>();
        try (Stream<Path> files = Files.list(Path.of("src/test/resources/corpus"))) {
            for (Path f : files.sorted().toList()) {
                inputs.add(Files.readString(f, StandardCharsets.UTF_8));
            }
        }
        int corpus = inputs.size();
        DockerfileMutations.generate(1, 5000, "127.0.0.1:5000/base/busybox", 3)
                .forEach(c -> inputs.add(c.text()));
        int written = 0;
        int refused = 0;
        for (int k = 0; k < inputs.size(); k++) {
            String text = inputs.get(k);
            for (boolean heredocs : new boolean[] {false, true}) {
                Dockerfile parsed = DockerfileParser.parse(text, heredocs);
                CanonicalDockerfile.Result r = CanonicalDockerfile.write(parsed, heredocs);
                if (r.text() == null) {
                    assertThat(r.problems()).as("refused without a reason: %s", text).isNotEmpty();
                    refused++;
                    continue;
                }
                written++;
                assertThat(r.problems()).isEmpty();
                Dockerfile again = DockerfileParser.parse(r.text(), heredocs);
                assertThat(again.errors()).as(text).isEmpty();
                assertThat(again.escape()).isEqualTo(parsed.escape());
                assertThat(again.instructions()).as(text).hasSameSizeAs(parsed.instructions());
                for (int i = 0; i < again.instructions().size(); i++) {
                    assertThat(CanonicalDockerfile.sameInstruction(parsed.instructions().get(i),
                            again.instructions().get(i))).as("%s\n-> %s", text, r.text()).isTrue();
                }
                assertThat(CanonicalDockerfile.write(again, heredocs).text()).isEqualTo(r.text());
                // and the canonical text has what its definition says: no comments, no continuations, no blanks
                String[] lines = r.text().split("\n", -1);
                int directives = parsed.directives().containsKey("syntax") ? 2 : 1;
                for (int i = directives; i < lines.length - 1; i++) {
                    if (!heredocs || parsed.instructions().stream().allMatch(in -> in.heredocs().isEmpty())) {
                        assertThat(lines[i]).isNotBlank().doesNotStartWith("#");
                        assertThat(DockerfileParser.continuation(lines[i], parsed.escape())).isNegative();
                    }
                }
            }
        }
        // The property must have had something to hold for: most inputs are writable, and some are refused.
        assertThat(written).as("written of %d (%d corpus files)", 2 * inputs.size(), corpus)
                .isGreaterThan(inputs.size());
        assertThat(refused).isPositive();
    }

    /**
     * A mount's variables are substituted field by field after the CSV is read, as BuildKit 0.13's parseMount does
     * (dockerd 26 mounts {@code from=} as written at the target {@code /a,from=r/y:2} here): the substituted value is
     * written so that it reads as those same fields, a comma from a variable quoted inside its field.
     */
    @Test
    void aMountIsSubstitutedFieldByFieldAfterItsCsvIsRead() throws RunMount.Refused {
        java.util.function.UnaryOperator<String> t = v -> v.replace("$T", "/a,from=r/y:2");
        String expanded = RunMount.expandFields("type=bind,from=r/x:1,target=$T", t);
        assertThat(expanded).isEqualTo("type=bind,from=r/x:1,\"target=/a,from=r/y:2\"");
        RunMount read = RunMount.parse(expanded);
        assertThat(read.from()).isEqualTo("r/x:1");
        assertThat(read.options()).containsEntry("target", "/a,from=r/y:2");
        // keys and bare words are never substituted; nothing substituted gives the very value
        String keyed = "$T=1,ro";
        assertThat(RunMount.expandFields(keyed, t)).isSameAs(keyed);
        String plain = "type=bind,target=/m";
        assertThat(RunMount.expandFields(plain, t)).isSameAs(plain);
        assertThat(RunMount.expandFields("target=\"/m", t)).as("not CSV: the caller substitutes the whole").isNull();
    }
}
