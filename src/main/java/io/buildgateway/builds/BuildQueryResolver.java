package io.buildgateway.builds;

import java.util.List;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.MethodParameter;
import org.springframework.web.bind.support.WebDataBinderFactory;
import org.springframework.web.context.request.NativeWebRequest;
import org.springframework.web.method.support.HandlerMethodArgumentResolver;
import org.springframework.web.method.support.ModelAndViewContainer;
import org.springframework.web.servlet.config.annotation.WebMvcConfigurer;

/**
 * Gives a controller its {@link BuildQuery} (or {@link LintQuery}) read from the raw parameter map ({@link BuildQuery#of}) instead of
 * Spring's binding, which would join repeated values and split comma-separated ones. Registered before Spring's
 * catch-all model-attribute binding, which would otherwise take the record.
 */
@Configuration(proxyBeanMethods = false)
class BuildQueryResolver implements WebMvcConfigurer, HandlerMethodArgumentResolver {

    @Override
    public void addArgumentResolvers(List<HandlerMethodArgumentResolver> resolvers) {
        resolvers.add(this);
    }

    @Override
    public boolean supportsParameter(MethodParameter parameter) {
        return parameter.getParameterType() == BuildQuery.class || parameter.getParameterType() == LintQuery.class;
    }

    @Override
    public Object resolveArgument(MethodParameter parameter, ModelAndViewContainer mavContainer,
            NativeWebRequest webRequest, WebDataBinderFactory binderFactory) {
        if (parameter.getParameterType() == LintQuery.class) {
            return LintQuery.of(webRequest.getParameterMap());
        }
        return BuildQuery.of(webRequest.getParameterMap(), BuildRequest.BUILD_PARAMETERS);
    }
}
