package io.buildgateway.shared.web;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class QueryStringCheckTest {

    @ParameterizedTest
    @ValueSource(strings = {"", "a=1", "a=1&b=2", "a", "&&", "a=&=b", "q=%C3%A9t%C3%A9", "q=a+b", "q=%25", "q=%F0%9F%90%B3",
        "since=2026-01-01T00%3A00%3A00Z&limit=5"})
    void readableQueriesPass(String query) {
        assertThat(QueryStringCheck.fault(query)).as(query).isNull();
    }

    @ParameterizedTest
    @ValueSource(strings = {"a=%", "a=%f", "a=%zz", "a=%ff", "a=%C3", "a=%C3%28", "a=%00", "%00=1", "a=1&b=%e2%82",
        "a=%ED%A0%80", "a=%C0%AF", "a=%f&b=1", "a=é", "a=\u0000"})
    void unreadableQueriesAreNamed(String query) {
        assertThat(QueryStringCheck.fault(query)).as(query).isNotBlank();
    }
}
