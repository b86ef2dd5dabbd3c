package io.buildgateway.scanning;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class CvssTest {

    /** Scores as NVD's calculator gives them. */
    @ParameterizedTest
    @CsvSource({
        "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H, 9.8, critical",
        "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H, 10.0, critical",
        "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:N/A:N, 5.5, medium",
        "CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:N/A:N, 3.1, low",
        "CVSS:3.0/AV:N/AC:L/PR:L/UI:N/S:C/C:L/I:L/A:N, 6.4, medium",
        "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N, 7.5, high",
        "CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:N/I:N/A:N, 0.0, none",
    })
    void baseScores(String vector, double score, String rating) {
        assertThat(Cvss.baseScore(vector)).isEqualTo(score);
        assertThat(Cvss.rating(Cvss.baseScore(vector))).isEqualTo(rating);
    }

    @ParameterizedTest
    @CsvSource({"CVSS:2.0/AV:N", "AV:N/AC:L/Au:N/C:P/I:P/A:P", "CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
        "CVSS:3.1/AV:N/AC:L"})
    void incompleteOrForeignVectorsHaveNoScore(String vector) {
        assertThat(Cvss.baseScore(vector)).isEqualTo(-1);
        assertThat(Cvss.rating(-1)).isEqualTo("unknown");
    }
}
