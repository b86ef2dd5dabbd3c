package io.buildgateway.auth;

import org.springframework.boot.context.properties.ConfigurationPropertiesBinding;
import org.springframework.boot.convert.DurationStyle;
import org.springframework.core.convert.converter.Converter;
import org.springframework.stereotype.Component;

/** Lets {@code gateway.auth.max-token-lifetime} stay a single duration ({@code 365d}, {@code P90D}) for every role. */
@Component
@ConfigurationPropertiesBinding
class TokenLifetimesConverter implements Converter<String, TokenLifetimes> {

    @Override
    public TokenLifetimes convert(String source) {
        return TokenLifetimes.of(DurationStyle.detectAndParse(source.trim()));
    }
}
