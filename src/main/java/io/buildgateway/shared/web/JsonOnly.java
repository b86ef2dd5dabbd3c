package io.buildgateway.shared.web;

import java.util.List;
import java.util.Set;
import org.springframework.context.annotation.Configuration;
import org.springframework.http.MediaType;
import org.springframework.http.converter.HttpMessageConverter;
import org.springframework.http.converter.json.AbstractJackson2HttpMessageConverter;
import org.springframework.http.converter.json.JacksonJsonHttpMessageConverter;
import org.springframework.web.servlet.config.annotation.WebMvcConfigurer;
import tools.jackson.core.StreamReadFeature;
import tools.jackson.databind.DeserializationFeature;
import tools.jackson.databind.MapperFeature;
import tools.jackson.databind.cfg.CoercionAction;
import tools.jackson.databind.cfg.CoercionInputShape;
import tools.jackson.databind.cfg.EnumFeature;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.type.LogicalType;

/**
 * The API speaks JSON (and the few plain-text, tar and SARIF bodies its controllers declare), never XML, YAML, CBOR
 * or Smile. Libraries bring those Jackson formats onto the classpath (the SBOM library XML, the Kubernetes client
 * YAML), which would make Spring MVC accept such request bodies and offer such responses; this removes every
 * converter that reads or writes them, so such a body is a 415 and such an {@code Accept} a 406.
 *
 * <p>Request bodies are read strictly ({@link #strict}): a key given twice, a number for an enum or a text, a text or
 * a number for a boolean, an empty string for a value are refused (400 naming the field) instead of being read as
 * something the caller may not have meant ({@code "roles":["AUDITOR"],"roles":["ADMIN"]} was an ADMIN token,
 * {@code "roles":[4]} too, {@code "expiresAt":""} the longest lifetime). Only the request bodies' mapper is strict:
 * the application's own {@link JsonMapper} also reads what registries and daemons send.
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
        boolean jackson3 = false;
        for (int i = 0; i < converters.size(); i++) {
            if (converters.get(i) instanceof JacksonJsonHttpMessageConverter json) {
                JacksonJsonHttpMessageConverter strict = new JacksonJsonHttpMessageConverter(strict(json.getMapper())) {
                    @Override
                    public boolean canWrite(org.springframework.core.ResolvableType type, Class<?> valueClass,
                            MediaType mediaType) {
                        // A String or byte[] body is the document already (the provenance envelope, springdoc's
                        // OpenAPI document): the String and byte[] converters write it as it is, never this one as
                        // a quoted JSON string.
                        return valueClass != String.class && valueClass != byte[].class
                                && super.canWrite(type, valueClass, mediaType);
                    }
                };
                strict.setSupportedMediaTypes(json.getSupportedMediaTypes());
                converters.set(i, strict);
                jackson3 = true;
            }
        }
        if (jackson3) {
            // a Jackson 2 converter (Jackson 2 databind is on the classpath, for the Kubernetes client) would read
            // bodies leniently
            converters.removeIf(c -> c instanceof AbstractJackson2HttpMessageConverter);
        }
    }

    private static boolean otherFormat(MediaType type) {
        if (type.isWildcardSubtype()) {
            return false;
        }
        String subtype = type.getSubtype().toLowerCase(java.util.Locale.ROOT);
        int plus = subtype.lastIndexOf('+');
        return OTHER_FORMATS.contains(subtype) || plus >= 0 && OTHER_FORMATS.contains(subtype.substring(plus + 1));
    }

    /**
     * The mapper request bodies are read with: the application's, with duplicate keys, numbers for enums and every
     * scalar coercion refused. Writing is unchanged.
     */
    static JsonMapper strict(JsonMapper base) {
        return base.rebuild()
                .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
                .enable(EnumFeature.FAIL_ON_NUMBERS_FOR_ENUMS)
                .disable(MapperFeature.ALLOW_COERCION_OF_SCALARS)
                .disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT)
                .withCoercionConfigDefaults(c -> c.setAcceptBlankAsEmpty(false)
                        .setCoercion(CoercionInputShape.EmptyString, CoercionAction.Fail))
                .withCoercionConfig(LogicalType.Textual, c -> c.setCoercion(CoercionInputShape.Integer,
                        CoercionAction.Fail).setCoercion(CoercionInputShape.Float, CoercionAction.Fail)
                        .setCoercion(CoercionInputShape.Boolean, CoercionAction.Fail))
                .withCoercionConfig(LogicalType.Boolean, c -> c.setCoercion(CoercionInputShape.Integer,
                        CoercionAction.Fail).setCoercion(CoercionInputShape.Float, CoercionAction.Fail))
                .withCoercionConfig(LogicalType.Enum, c -> c.setCoercion(CoercionInputShape.Integer,
                        CoercionAction.Fail))
                .build();
    }
}
