package statefunfaas.engine.sdk;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.apache.flink.statefun.sdk.java.handler.RequestReplyHandler;
import org.apache.flink.statefun.sdk.java.slice.Slice;
import org.apache.flink.statefun.sdk.java.slice.Slices;

/**
 * Serves {@link InteropFunctions} on the loopback address with the JDK's HTTP server: every POST, on
 * any path, is a StateFun request for the SDK's request-reply handler; the query (our URL token) is
 * not checked.
 *
 * <p>Argument: the port (0 or none: any free one). Prints {@code listening on
 * http://127.0.0.1:<port>/} once it listens, then one line per request; runs until killed.
 */
public final class InteropServer {

  private InteropServer() {}

  public static void main(String[] args) throws IOException {
    int port = args.length > 0 ? Integer.parseInt(args[0]) : 0;
    RequestReplyHandler handler = InteropFunctions.functions().requestReplyHandler();
    HttpServer server =
        HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 0);
    ExecutorService threads = Executors.newFixedThreadPool(4);
    server.setExecutor(threads);
    server.createContext("/", exchange -> answer(handler, exchange));
    server.start();
    System.out.println("listening on http://127.0.0.1:" + server.getAddress().getPort() + "/");
    System.out.flush();
  }

  private static void answer(RequestReplyHandler handler, HttpExchange exchange) throws IOException {
    String target = exchange.getRequestURI().getRawPath();
    try {
      if (!"POST".equals(exchange.getRequestMethod())) {
        respond(exchange, 405, "text/plain", "POST a StateFun request\n".getBytes(StandardCharsets.UTF_8));
        return;
      }
      byte[] body = exchange.getRequestBody().readAllBytes();
      Slice reply = handler.handle(Slices.wrap(body)).get(60, TimeUnit.SECONDS);
      respond(exchange, 200, "application/octet-stream", reply.toByteArray());
      System.out.println("POST " + target + " 200 (" + body.length + " bytes in)");
    } catch (Exception failure) {
      System.out.println("POST " + target + " 500: " + failure);
      failure.printStackTrace(System.out);
      respond(exchange, 500, "text/plain", (failure + "\n").getBytes(StandardCharsets.UTF_8));
    } finally {
      System.out.flush();
      exchange.close();
    }
  }

  private static void respond(HttpExchange exchange, int status, String type, byte[] body)
      throws IOException {
    exchange.getResponseHeaders().set("Content-Type", type);
    exchange.sendResponseHeaders(status, body.length == 0 ? -1 : body.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(body);
    }
  }
}
