package io.buildgateway.shared.web;

import java.util.List;
import org.springframework.context.annotation.Configuration;
import org.springframework.http.converter.HttpMessageConverter;
import org.springframework.web.servlet.config.annotation.WebMvcConfigurer;

/**
 * The API speaks JSON (and the few plain-text, tar and SARIF bodies its controllers declare), never XML. The SBOM
 * library brings jackson-dataformat-xml onto the classpath, which would make Spring MVC accept XML request bodies
 * and offer XML responses; this removes every converter that reads or writes XML, so an XML body is a 415 as
 * before.
 */
@Configuration(proxyBeanMethods = false)
class JsonOnly implements WebMvcConfigurer {

    @Override
    public void extendMessageConverters(List<HttpMessageConverter<?>> converters) {
        // Named XML types only: byte[] and String converters declare */*, and must stay.
        converters.removeIf(c -> c.getSupportedMediaTypes().stream().anyMatch(t -> !t.isWildcardSubtype()
                && (t.getSubtype().equals("xml") || t.getSubtype().endsWith("+xml"))));
    }
}
