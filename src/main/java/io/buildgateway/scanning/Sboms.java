package io.buildgateway.scanning;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import org.cyclonedx.Version;
import org.cyclonedx.exception.GeneratorException;
import org.cyclonedx.generators.BomGeneratorFactory;
import org.cyclonedx.model.Bom;
import org.cyclonedx.model.Component;
import org.cyclonedx.model.Metadata;
import org.cyclonedx.model.Property;

/** A CycloneDX 1.6 SBOM of an image: the image as the subject, every package as a component with its purl. */
final class Sboms {

    private Sboms() {
    }

    static String cycloneDx(String imageRef, String imageId, Packages.Distro distro, List<Packages.Package> packages,
            Instant at) {
        Bom bom = new Bom();
        bom.setSerialNumber("urn:uuid:" + UUID.nameUUIDFromBytes((imageId + at).getBytes()).toString());
        Metadata metadata = new Metadata();
        metadata.setTimestamp(Date.from(at));
        Component image = new Component();
        image.setType(Component.Type.CONTAINER);
        image.setName(imageRef);
        image.setVersion(imageId);
        image.setBomRef(imageId);
        metadata.setComponent(image);
        org.cyclonedx.model.metadata.ToolInformation tools = new org.cyclonedx.model.metadata.ToolInformation();
        Component tool = new Component();
        tool.setType(Component.Type.APPLICATION);
        tool.setName("build-gateway");
        tools.setComponents(List.of(tool));
        metadata.setToolChoice(tools);
        bom.setMetadata(metadata);
        List<Component> components = new ArrayList<>();
        if (distro != null) {
            Component os = new Component();
            os.setType(Component.Type.OPERATING_SYSTEM);
            os.setName(distro.id());
            os.setVersion(distro.versionId());
            os.setDescription(distro.prettyName());
            os.setBomRef("os:" + distro.id() + "@" + distro.versionId());
            components.add(os);
        }
        Set<String> refs = new HashSet<>();
        for (Packages.Package p : packages) {
            Component c = new Component();
            c.setType(Component.Type.LIBRARY);
            c.setName(p.name());
            c.setVersion(p.version());
            c.setPurl(p.purl());
            String ref = p.purl() != null ? p.purl() : p.type() + ":" + p.name() + "@" + p.version();
            // bom-refs must be unique; the same jar can sit in two places.
            c.setBomRef(refs.add(ref) ? ref : ref + "#" + p.location());
            List<Property> props = new ArrayList<>();
            props.add(property("buildgateway:ecosystem", p.ecosystem()));
            props.add(property("buildgateway:location", p.location()));
            if (p.sourceName() != null && !p.sourceName().equals(p.name())) {
                props.add(property("buildgateway:source-package", p.sourceName()));
            }
            c.setProperties(props);
            components.add(c);
        }
        bom.setComponents(components);
        try {
            return BomGeneratorFactory.createJson(Version.VERSION_16, bom).toJsonString();
        } catch (GeneratorException e) {
            throw new IllegalStateException("the SBOM could not be written", e);
        }
    }

    private static Property property(String name, String value) {
        Property p = new Property();
        p.setName(name);
        p.setValue(value);
        return p;
    }
}
