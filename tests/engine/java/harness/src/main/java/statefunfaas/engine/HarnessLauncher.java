package statefunfaas.engine;

import java.io.File;
import org.apache.flink.statefun.flink.harness.Harness;

/**
 * Runs StateFun's harness: a Flink MiniCluster in this JVM executing the StatefulFunctions job of one
 * module.yaml.
 *
 * <p>Arguments: the module.yaml path, then Flink configuration entries as {@code key=value} (for
 * example {@code parallelism.default=1}, {@code execution.checkpointing.interval=1s}, {@code
 * rest.bind-port=8081}). Blocks while the job runs.
 */
public final class HarnessLauncher {

  private HarnessLauncher() {}

  public static void main(String[] args) throws Exception {
    if (args.length == 0) {
      usage("no module.yaml given");
    }
    File module = new File(args[0]).getAbsoluteFile();
    if (!module.isFile()) {
      usage("module.yaml not found: " + module);
    }
    Harness harness = new Harness();
    harness.withConfiguration("statefun.remote.module-name", module.toURI().toString());
    for (int i = 1; i < args.length; i++) {
      int equals = args[i].indexOf('=');
      if (equals <= 0) {
        usage("not a key=value configuration entry: " + args[i]);
      }
      harness.withConfiguration(args[i].substring(0, equals), args[i].substring(equals + 1));
    }
    harness.start();
  }

  private static void usage(String problem) {
    System.err.println(problem);
    System.err.println("usage: HarnessLauncher /path/to/module.yaml [flink.config.key=value ...]");
    System.exit(2);
  }
}
