package io.buildgateway.inventory.notify;

import static org.assertj.core.api.Assertions.assertThat;

import io.buildgateway.inventory.notify.AttemptResult.Kind;
import jakarta.mail.MessagingException;
import jakarta.mail.SendFailedException;
import jakarta.mail.internet.InternetAddress;
import java.net.ConnectException;
import java.util.Map;
import org.eclipse.angus.mail.smtp.SMTPAddressFailedException;
import org.eclipse.angus.mail.smtp.SMTPSendFailedException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.springframework.mail.MailAuthenticationException;
import org.springframework.mail.MailSendException;

/** Which failures are retried (transient) and which are final after one attempt (permanent). */
class ClassificationTest {

    @ParameterizedTest
    @ValueSource(ints = {200, 201, 202, 204, 299})
    void twoHundredsAreDelivered(int status) {
        assertThat(AttemptResult.ofHttpStatus(status).kind()).isEqualTo(Kind.DELIVERED);
    }

    @ParameterizedTest
    @ValueSource(ints = {400, 401, 403, 404, 405, 410, 413, 415, 422, 499})
    void clientErrorsArePermanent(int status) {
        AttemptResult result = AttemptResult.ofHttpStatus(status);
        assertThat(result.kind()).isEqualTo(Kind.PERMANENT);
        assertThat(result.statusCode()).isEqualTo(status);
        assertThat(result.error()).contains("HTTP " + status);
    }

    @ParameterizedTest
    @ValueSource(ints = {408, 429, 500, 502, 503, 504, 301, 302, 307, 100})
    void timeoutsThrottlingServerErrorsAndRedirectsAreRetried(int status) {
        assertThat(AttemptResult.ofHttpStatus(status).kind()).isEqualTo(Kind.TRANSIENT);
    }

    @Test
    void longErrorsAreCut() {
        assertThat(AttemptResult.transientFailure(null, "x".repeat(5000)).error()).hasSize(AttemptResult.MAX_ERROR + 1);
    }

    @Test
    void smtpFiveHundredRepliesArePermanent() throws Exception {
        var refused = new SMTPAddressFailedException(new InternetAddress("nobody@example.test"), "RCPT TO",
                550, "550 5.1.1 no such user");
        var wrapped = new MailSendException(Map.of(new Object(), new SendFailedException("Invalid Addresses",
                refused)));
        AttemptResult result = EmailSender.classify(wrapped, null);
        assertThat(result.kind()).isEqualTo(Kind.PERMANENT);
        assertThat(result.statusCode()).isEqualTo(550);
        assertThat(result.error()).contains("550").contains("no such user");
    }

    @Test
    void smtpFourHundredRepliesAreRetried() throws Exception {
        var busy = new SMTPSendFailedException("DATA", 451, "451 4.3.0 try again later", null, null, null, null);
        AttemptResult result = EmailSender.classify(busy, null);
        assertThat(result.kind()).isEqualTo(Kind.TRANSIENT);
        assertThat(result.statusCode()).isEqualTo(451);
    }

    @Test
    void anUnreachableRelayOrAFailedLoginIsRetriedWithoutShowingThePassword() {
        var unreachable = new MailSendException("Mail server connection failed",
                new MessagingException("Couldn't connect to host", new ConnectException("Connection refused")));
        assertThat(EmailSender.classify(unreachable, null).kind()).isEqualTo(Kind.TRANSIENT);
        assertThat(EmailSender.classify(unreachable, null).error()).contains("Connection refused");

        var login = new MailAuthenticationException(new MessagingException("535 bad credentials for s3cret-pass"));
        AttemptResult result = EmailSender.classify(login, "s3cret-pass");
        assertThat(result.kind()).isEqualTo(Kind.TRANSIENT);
        assertThat(result.error()).doesNotContain("s3cret-pass").contains("***");
    }
}
