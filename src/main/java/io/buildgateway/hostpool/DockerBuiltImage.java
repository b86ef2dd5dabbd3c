package io.buildgateway.hostpool;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.command.InspectImageResponse;
import com.github.dockerjava.api.exception.NotFoundException;
import com.github.dockerjava.api.model.ContainerConfig;
import com.github.dockerjava.api.model.ExposedPort;
import com.github.dockerjava.core.DockerClientImpl;
import com.github.dockerjava.transport.DockerHttpClient;
import java.io.IOException;
import java.io.InputStream;
import java.time.Instant;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Consumer;

/** {@link BuiltImage} on a docker-java client. */
final class DockerBuiltImage implements BuiltImage {

    private final DockerClient docker;
    private final String apiVersion;
    private final BuildJob job;
    private final ImageFacts facts;
    private final Consumer<String> output;
    private final String reference;
    private final Instant deadline;

    DockerBuiltImage(DockerClient docker, String apiVersion, BuildJob job, String imageId, String reference,
            Consumer<String> output, Instant deadline) {
        this.docker = docker;
        this.deadline = deadline;
        this.reference = reference;
        this.apiVersion = apiVersion;
        this.job = job;
        this.facts = facts(docker.inspectImageCmd(imageId).exec());
        this.output = output;
    }

    @Override
    public BuildJob job() {
        return job;
    }

    @Override
    public String reference() {
        return reference;
    }

    @Override
    public ImageFacts facts() {
        return facts;
    }

    @Override
    public Optional<ImageFacts> base() throws IOException {
        if (job.baseImage() == null) {
            return Optional.empty();
        }
        try {
            return Optional.of(facts(docker.inspectImageCmd(job.pinnedBaseImage()).exec()));
        } catch (NotFoundException e) {
            throw new IOException("the base image " + job.pinnedBaseImage() + " is not on the build host");
        }
    }

    @Override
    public Instant deadline() {
        return deadline;
    }

    @Override
    public Consumer<String> output() {
        return output;
    }

    @Override
    public void save(StreamReader reader) throws IOException {
        try (InputStream in = docker.saveImageCmd(facts.id()).exec()) {
            reader.read(in);
        }
    }

    /**
     * docker-java has no export command, so this calls the Engine API's {@code GET /containers/{id}/export} on the
     * client's own transport. The container is created with a command that is never run, and removed afterwards.
     */
    @Override
    public void export(StreamReader reader) throws IOException {
        String container = docker.createContainerCmd(facts.id())
                .withCmd("/nonexistent-never-started")
                .withEntrypoint(List.of())
                .withNetworkDisabled(true)
                .withLabels(Map.of("io.buildgateway.export-of", job.buildId()))
                .exec().getId();
        try {
            DockerHttpClient http = ((DockerClientImpl) docker).getHttpClient();
            DockerHttpClient.Request request = DockerHttpClient.Request.builder()
                    .method(DockerHttpClient.Request.Method.GET)
                    .path("/v" + apiVersion + "/containers/" + container + "/export")
                    .build();
            try (DockerHttpClient.Response response = http.execute(request)) {
                if (response.getStatusCode() != 200) {
                    throw new IOException("export of the image's filesystem failed: HTTP " + response.getStatusCode());
                }
                try (InputStream in = response.getBody()) {
                    reader.read(in);
                }
            }
        } finally {
            try {
                docker.removeContainerCmd(container).withForce(true).exec();
            } catch (RuntimeException ignored) {
                // a leftover created container holds no resources but disk; the host's own cleanup takes it
            }
        }
    }

    static ImageFacts facts(InspectImageResponse image) {
        ContainerConfig config = image.getConfig();
        List<String> layers = image.getRootFS() == null || image.getRootFS().getLayers() == null ? List.of()
                : image.getRootFS().getLayers();
        Set<String> ports = new LinkedHashSet<>();
        if (config != null && config.getExposedPorts() != null) {
            for (ExposedPort p : config.getExposedPorts()) {
                ports.add(p.getPort() + "/" + p.getProtocol().toString());
            }
        }
        return new ImageFacts(image.getId(), layers,
                config == null || config.getUser() == null ? "" : config.getUser(),
                config == null || config.getEnv() == null ? List.of() : Arrays.asList(config.getEnv()),
                ports,
                config == null || config.getEntrypoint() == null ? null : Arrays.asList(config.getEntrypoint()),
                config == null || config.getCmd() == null ? null : Arrays.asList(config.getCmd()),
                config == null || config.getLabels() == null ? Map.of() : config.getLabels(),
                image.getOs(), image.getArch(),
                image.getRepoDigests() == null ? List.of() : image.getRepoDigests());
    }
}
