package io.buildgateway.inventory.notify;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A tiny SMTP server on an ephemeral port that speaks just enough of RFC 5321 for a client (greeting, EHLO/HELO,
 * MAIL, RCPT, DATA with dot-unstuffing, RSET, NOOP, QUIT) and keeps what it accepts. Any recipient whose address
 * starts with {@code nobody@} is refused with 550, as a relay refuses an unknown mailbox.
 */
final class SmtpRelay implements AutoCloseable {

    record Mail(String from, List<String> recipients, String data) {
    }

    private final ServerSocket server;
    private final List<Mail> accepted = new CopyOnWriteArrayList<>();
    private final List<String> commands = new CopyOnWriteArrayList<>();

    private SmtpRelay(ServerSocket server) {
        this.server = server;
    }

    static SmtpRelay start() {
        try {
            ServerSocket socket = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
            SmtpRelay relay = new SmtpRelay(socket);
            Thread acceptor = new Thread(relay::acceptLoop, "test-smtp-accept");
            acceptor.setDaemon(true);
            acceptor.start();
            return relay;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    int port() {
        return server.getLocalPort();
    }

    List<Mail> accepted() {
        return List.copyOf(accepted);
    }

    List<String> commands() {
        return List.copyOf(commands);
    }

    private void acceptLoop() {
        while (!server.isClosed()) {
            try {
                Socket client = server.accept();
                Thread session = new Thread(() -> converse(client), "test-smtp-session");
                session.setDaemon(true);
                session.start();
            } catch (IOException e) {
                return;
            }
        }
    }

    private void converse(Socket client) {
        try (client) {
            BufferedReader in = new BufferedReader(new InputStreamReader(client.getInputStream(),
                    StandardCharsets.UTF_8));
            OutputStream out = client.getOutputStream();
            reply(out, "220 test-relay ESMTP ready");
            String from = null;
            List<String> recipients = new ArrayList<>();
            String line;
            while ((line = in.readLine()) != null) {
                commands.add(line);
                String verb = line.length() >= 4 ? line.substring(0, 4).toUpperCase(Locale.ROOT) : line;
                switch (verb) {
                    case "EHLO" -> reply(out, "250-test-relay\r\n250 8BITMIME");
                    case "HELO" -> reply(out, "250 test-relay");
                    case "MAIL" -> {
                        from = address(line);
                        recipients.clear();
                        reply(out, "250 2.1.0 ok");
                    }
                    case "RCPT" -> {
                        String to = address(line);
                        if (to.startsWith("nobody@")) {
                            reply(out, "550 5.1.1 <" + to + ">: no such user");
                        } else {
                            recipients.add(to);
                            reply(out, "250 2.1.5 ok");
                        }
                    }
                    case "DATA" -> {
                        reply(out, "354 end data with <CR><LF>.<CR><LF>");
                        StringBuilder data = new StringBuilder();
                        String d;
                        while ((d = in.readLine()) != null && !d.equals(".")) {
                            data.append(d.startsWith("..") ? d.substring(1) : d).append("\r\n");
                        }
                        accepted.add(new Mail(from, List.copyOf(recipients), data.toString()));
                        reply(out, "250 2.0.0 queued");
                    }
                    case "RSET", "NOOP" -> reply(out, "250 2.0.0 ok");
                    case "QUIT" -> {
                        reply(out, "221 2.0.0 bye");
                        return;
                    }
                    default -> reply(out, "502 5.5.2 not implemented");
                }
            }
        } catch (IOException e) {
            // the client went away; nothing to keep
        }
    }

    private static String address(String command) {
        int open = command.indexOf('<');
        int close = command.indexOf('>', open + 1);
        return open >= 0 && close > open ? command.substring(open + 1, close) : "";
    }

    private static void reply(OutputStream out, String text) throws IOException {
        out.write((text + "\r\n").getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    @Override
    public void close() throws IOException {
        server.close();
    }
}
