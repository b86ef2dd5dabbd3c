package io.buildgateway.shared.web;

import java.util.List;
import java.util.Set;
import org.springframework.context.annotation.Configuration;
import org.springframework.http.MediaType;
import org.springframework.http.converter.HttpMessageConverter;
import org.springframework.web.servlet.config.annotation.WebMvcConfigurer;

/**
 * The API speaks JSON (and the few plain-text, tar and SARIF bodies its controllers declare), never XML, YAML, CBOR
 * or Smile. Libraries bring those Jackson formats onto the classpath (the SBOM library XML, the Kubernetes client
 * YAML), which would make Spring MVC accept such request bodies and offer such responses; this removes every
 * converter that reads or writes them, so such a body is a 415 and such an {@code Accept} a 406.
 */
@Configuration(proxyBeanMethods = false)
class JsonOnly implements WebMvcConfigurer {

    /** Subtypes of formats other than JSON that Jackson converters speak. */
    private static final Set<String> OTHER_FORMATS = Set.of("xml", "yaml", "x-yaml", "cbor", "x-jackson-smile",
            "smile");

    @Override
    public void extendMessageConverters(List<HttpMessageConverter<?>> converters) {
        // Named types only: byte[] and String converters declare */*, and must stay.
        converters.removeIf(c -> c.getSupportedMediaTypes().stream().anyMatch(JsonOnly::otherFormat));
    }

    private static boolean otherFormat(MediaType type) {
        if (type.isWildcardSubtype()) {
            return false;
        }
        String subtype = type.getSubtype().toLowerCase(java.util.Locale.ROOT);
        int plus = subtype.lastIndexOf('+');
        return OTHER_FORMATS.contains(subtype) || plus >= 0 && OTHER_FORMATS.contains(subtype.substring(plus + 1));
    }
}
