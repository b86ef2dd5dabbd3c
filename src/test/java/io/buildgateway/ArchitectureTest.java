package io.buildgateway;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import jakarta.persistence.Entity;
import org.junit.jupiter.api.Test;
import org.springframework.data.repository.Repository;

/** The module map of DESIGN.md, enforced: dependencies point one way, and internals stay internal. */
class ArchitectureTest {

    private static final JavaClasses CLASSES = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS).importPackages("io.buildgateway");

    private static void mayOnlyUse(String module, String... allowed) {
        String[] packages = new String[allowed.length + 1];
        packages[0] = "io.buildgateway." + module + "..";
        for (int i = 0; i < allowed.length; i++) {
            packages[i + 1] = "io.buildgateway." + allowed[i] + "..";
        }
        noClasses().that().resideInAPackage("io.buildgateway." + module + "..")
                .should().dependOnClassesThat(com.tngtech.archunit.base.DescribedPredicate.describe(
                        "a gateway module other than " + String.join(", ", packages),
                        (com.tngtech.archunit.core.domain.JavaClass c) -> c.getPackageName()
                                .startsWith("io.buildgateway.") && java.util.Arrays.stream(packages)
                                .noneMatch(p -> c.getPackageName().startsWith(p.substring(0, p.length() - 2)))))
                .check(CLASSES);
    }

    @Test
    void modulesDependOneWay() {
        mayOnlyUse("shared");
        mayOnlyUse("auth", "shared");
        mayOnlyUse("signing", "shared");
        // audit signs its checkpoints with the gateway key.
        mayOnlyUse("audit", "signing", "shared");
        mayOnlyUse("dockerfile", "shared");
        mayOnlyUse("policy", "dockerfile", "shared");
        mayOnlyUse("intake", "shared");
        mayOnlyUse("hostpool", "shared");
        // egress: the proxy and its records; builds opens a session per build and serves the records.
        mayOnlyUse("egress", "shared");
        mayOnlyUse("builds", "auth", "intake", "policy", "hostpool", "egress", "shared");
        // scanning implements hostpool's ImageGate and has the policy judge its evidence; builds never calls it.
        mayOnlyUse("scanning", "auth", "policy", "hostpool", "shared");
        // inventory reads the policy for the teams that want automatic rebuilds when their base moves.
        mayOnlyUse("inventory", "auth", "builds", "scanning", "policy", "shared");
        // provenance signs what builds report (BuildSucceeded) with the gateway key and stores it in the registry
        // through the host pool, which alone holds the registry credentials.
        mayOnlyUse("provenance", "auth", "builds", "hostpool", "signing", "shared");
        // the Docker Engine API port submits through builds, as POST /api/v1/builds does, and shows its findings.
        mayOnlyUse("dockerapi", "auth", "builds", "policy", "shared");
    }

    /**
     * Issue #13, "the build sequence in one place": builds drives build, confinement, checks and push; the host pool
     * offers the operations and never runs the sequence itself (it neither calls the gates nor names an image).
     */
    @Test
    void theBuildSequenceIsInBuildsNotInTheHostPool() {
        noClasses().that().resideInAPackage("io.buildgateway.hostpool..")
                .should().callMethod(io.buildgateway.hostpool.ImageGate.class, "examine",
                        io.buildgateway.hostpool.BuiltImage.class)
                .orShould().callMethod(io.buildgateway.hostpool.ImageGate.class, "pushed",
                        io.buildgateway.hostpool.BuiltImage.class, String.class)
                .orShould().callMethod(io.buildgateway.hostpool.ImageRegistry.class, "promote", String.class,
                        String.class, String.class, String.class)
                .orShould().callMethod(io.buildgateway.hostpool.ImageRegistry.class, "promote", String.class,
                        String.class, String.class, String.class, java.util.function.UnaryOperator.class)
                .check(CLASSES);
    }

    @Test
    void onlyTheHostPoolTouchesDockerJava() {
        noClasses().that().resideOutsideOfPackage("io.buildgateway.hostpool..")
                .should().dependOnClassesThat().resideInAPackage("com.github.dockerjava..").check(CLASSES);
    }

    @Test
    void theDockerfileParserIsPureJava() {
        noClasses().that().resideInAPackage("io.buildgateway.dockerfile..")
                .should().dependOnClassesThat().resideInAnyPackage("org.springframework..", "jakarta..",
                        "java.nio.file..", "java.net..")
                .check(CLASSES);
    }

    @Test
    void entitiesAndRepositoriesAreNotPublic() {
        classes().that().areAnnotatedWith(Entity.class).should().notBePublic().check(CLASSES);
        classes().that().areAssignableTo(Repository.class).should().notBePublic().check(CLASSES);
    }
}
