package io.buildgateway.inventory.notify;

import jakarta.mail.MessagingException;
import jakarta.mail.internet.MimeMessage;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.eclipse.angus.mail.smtp.SMTPAddressFailedException;
import org.eclipse.angus.mail.smtp.SMTPSendFailedException;
import org.eclipse.angus.mail.smtp.SMTPSenderFailedException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.mail.MailException;
import org.springframework.mail.MailSendException;
import org.springframework.mail.javamail.JavaMailSenderImpl;
import org.springframework.mail.javamail.MimeMessageHelper;
import org.springframework.stereotype.Component;

/**
 * Plain-text mail through the on-prem SMTP relay of {@code gateway.notifications.smtp}, one message per address
 * and attempt. Built from our own properties rather than {@code spring.mail.*}, and not a bean, so the relay is
 * neither a second configuration to keep in step nor a health check that could take the gateway out of service.
 */
@Component
class EmailSender {

    private static final Logger log = LoggerFactory.getLogger(EmailSender.class);

    private final NotificationProperties properties;
    private final JavaMailSenderImpl mail;

    EmailSender(NotificationProperties properties) {
        this.properties = properties;
        this.mail = properties.smtp().enabled() ? relay(properties) : null;
        if (mail == null && properties.emails().values().stream().anyMatch(list -> !list.isEmpty())) {
            log.warn("gateway.notifications.emails lists addresses but smtp.host is unset: no e-mail will be sent");
        }
    }

    boolean enabled() {
        return mail != null;
    }

    AttemptResult send(Delivery d, Instant now) {
        if (mail == null || !properties.emailsOf(d.team()).contains(d.endpoint())) {
            return AttemptResult.permanentFailure(null, "e-mail to this address is no longer configured for team "
                    + d.team());
        }
        try {
            MimeMessage message = mail.createMimeMessage();
            MimeMessageHelper helper = new MimeMessageHelper(message, false, "UTF-8");
            helper.setFrom(properties.smtp().from());
            helper.setTo(d.endpoint());
            helper.setSubject(Messages.oneLine(d.subject()));
            helper.setSentDate(Date.from(now));
            helper.setText(d.body(), false);
            // For receivers' filters and for deduplication, as the webhook headers.
            message.setHeader("X-BuildGateway-Event", d.event());
            message.setHeader("X-BuildGateway-Delivery", d.id().toString());
            mail.send(message);
            return AttemptResult.delivered(250);
        } catch (MessagingException | MailException e) {
            return classify(e, properties.smtp().password());
        }
    }

    /**
     * An SMTP 5xx reply is permanent (unknown mailbox, relaying refused, message refused); a 4xx reply, a refused or
     * broken connection, a timeout or a failed login is worth retrying (the relay or its configuration may recover).
     */
    static AttemptResult classify(Exception e, String password) {
        for (Throwable t : causes(e)) {
            int code = replyCode(t);
            if (code > 0) {
                String error = "SMTP " + code + ": " + scrub(t.getMessage(), password);
                return code >= 500 ? AttemptResult.permanentFailure(code, error)
                        : AttemptResult.transientFailure(code, error);
            }
        }
        return AttemptResult.transientFailure(null, e.getClass().getSimpleName() + ": "
                + scrub(deepestMessage(e), password));
    }

    private static int replyCode(Throwable t) {
        if (t instanceof SMTPAddressFailedException a) {
            return a.getReturnCode();
        }
        if (t instanceof SMTPSendFailedException s) {
            return s.getReturnCode();
        }
        if (t instanceof SMTPSenderFailedException s) {
            return s.getReturnCode();
        }
        return -1;
    }

    /** Spring's exception, its per-message exceptions, and the mail API's chains of next exceptions and causes. */
    private static List<Throwable> causes(Throwable e) {
        List<Throwable> out = new ArrayList<>();
        Map<Throwable, Boolean> seen = new IdentityHashMap<>();
        List<Throwable> todo = new ArrayList<>(List.of(e));
        while (!todo.isEmpty() && out.size() < 50) {
            Throwable t = todo.remove(0);
            if (t == null || seen.put(t, Boolean.TRUE) != null) {
                continue;
            }
            out.add(t);
            if (t instanceof MailSendException m) {
                todo.addAll(List.of(m.getMessageExceptions()));
            }
            if (t instanceof MessagingException m) {
                todo.add(m.getNextException());
            }
            todo.add(t.getCause());
        }
        return out;
    }

    private static String deepestMessage(Exception e) {
        String message = e.getMessage();
        for (Throwable t : causes(e)) {
            if (t.getMessage() != null && !t.getMessage().isBlank()) {
                message = t.getClass().getSimpleName() + ": " + t.getMessage();
            }
        }
        return message;
    }

    private static String scrub(String message, String password) {
        if (message == null) {
            return "";
        }
        String out = message.strip();
        return password == null || password.isEmpty() ? out : out.replace(password, "***");
    }

    private static JavaMailSenderImpl relay(NotificationProperties properties) {
        NotificationProperties.Smtp smtp = properties.smtp();
        JavaMailSenderImpl sender = new JavaMailSenderImpl();
        sender.setHost(smtp.host());
        sender.setPort(smtp.port());
        sender.setDefaultEncoding("UTF-8");
        Properties p = new Properties();
        p.put("mail.transport.protocol", "smtp");
        p.put("mail.smtp.connectiontimeout", Long.toString(properties.connectTimeout().toMillis()));
        p.put("mail.smtp.timeout", Long.toString(properties.responseTimeout().toMillis()));
        p.put("mail.smtp.writetimeout", Long.toString(properties.responseTimeout().toMillis()));
        if (smtp.starttls()) {
            // Required, not merely enabled: a relay that stops offering STARTTLS must not get the mail in clear.
            p.put("mail.smtp.starttls.enable", "true");
            p.put("mail.smtp.starttls.required", "true");
            p.put("mail.smtp.ssl.checkserveridentity", "true");
        }
        if (smtp.username() != null && !smtp.username().isBlank()) {
            sender.setUsername(smtp.username());
            sender.setPassword(smtp.password());
            p.put("mail.smtp.auth", "true");
        }
        sender.setJavaMailProperties(p);
        return sender;
    }
}
