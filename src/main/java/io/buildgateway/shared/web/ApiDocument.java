package io.buildgateway.shared.web;

import io.swagger.v3.oas.models.Components;
import io.swagger.v3.oas.models.OpenAPI;
import io.swagger.v3.oas.models.info.Info;
import io.swagger.v3.oas.models.security.SecurityRequirement;
import io.swagger.v3.oas.models.security.SecurityScheme;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * The head of the generated OpenAPI document (springdoc builds the paths from the controllers): title, the contract
 * it follows (docs/api.md) and the one way to authenticate, a bearer token on every operation.
 */
@Configuration(proxyBeanMethods = false)
class ApiDocument {

    static final String BEARER = "bearer";

    @Bean
    OpenAPI buildGatewayApi() {
        return new OpenAPI()
                .info(new Info().title("Build Gateway API").version("v1")
                        .description("Generated from the gateway's controllers. The contract, with the meaning of "
                                + "every field and status, is docs/api.md. Every operation needs "
                                + "Authorization: Bearer <token>; this document and its UI do not."))
                .components(new Components().addSecuritySchemes(BEARER,
                        new SecurityScheme().type(SecurityScheme.Type.HTTP).scheme("bearer")))
                .addSecurityItem(new SecurityRequirement().addList(BEARER));
    }
}
