import java.lang.reflect.Field;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import software.amazon.dynamodb.services.local.main.ServerRunner;
import software.amazon.dynamodb.services.local.server.DynamoDBProxyServer;

/**
 * Starts AWS's DynamoDB Local listening on 127.0.0.1 only.
 *
 * DynamoDB Local has no option to choose its listen address: its Jetty server is built with
 * `new Server(port)`, which listens on every interface, and neither `-help` nor Jetty system
 * properties (`-Djetty.host`) change that. So this launcher builds the server the way
 * DynamoDB Local's own main class does (same command-line options), sets the host of its
 * connectors to the loopback address before starting it, and refuses to start when the server
 * is not built the way it expects (a new DynamoDB Local version): it never falls back to
 * listening everywhere. It also never configures DynamoDB Local's telemetry.
 *
 * Run with Java's single-file source launcher (Java 11+, module jdk.compiler):
 * `java -cp DynamoDBLocal.jar LoopbackDynamoDbLocal.java -port N [-inMemory | -dbPath P] …`
 * (see local/emulators.ts).
 */
public class LoopbackDynamoDbLocal {
  private static final String HOST = "127.0.0.1";

  public static void main(String[] args) throws Exception {
    DynamoDBProxyServer proxy = ServerRunner.createServerFromCommandLineArgs(args);
    Field field = DynamoDBProxyServer.class.getDeclaredField("server");
    field.setAccessible(true);
    Server server = (Server) field.get(proxy);
    Connector[] connectors = server.getConnectors();
    if (connectors.length == 0) {
      throw new IllegalStateException("DynamoDB Local built a server without connectors");
    }
    for (Connector connector : connectors) {
      if (!(connector instanceof ServerConnector)) {
        throw new IllegalStateException(
            "DynamoDB Local built an unexpected connector " + connector.getClass().getName());
      }
      ((ServerConnector) connector).setHost(HOST);
    }
    proxy.start();
  }
}
