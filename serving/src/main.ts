/**
 * Entry point: read the environment, start the server, and turn SIGTERM/SIGINT into a graceful
 * drain that exits 0 once every accepted request is answered, or 1 if SHUTDOWN_TIMEOUT_SECONDS
 * passes first. Node handles these signals itself because handlers are registered, even as
 * PID 1; the container still runs it under tini so stray children are reaped.
 */
import { ConfigError, loadConfig, type ServerConfig } from "./config";
import { createLogger, startServer } from "./server";

async function main(): Promise<void> {
  let config: ServerConfig;
  try {
    config = loadConfig();
  } catch (err) {
    const message = err instanceof ConfigError ? err.message : String(err);
    process.stderr.write(
      `${JSON.stringify({ level: "fatal", time: new Date().toISOString(), msg: message })}\n`,
    );
    process.exit(2);
  }
  const logger = createLogger(config.logLevel);
  process.on("uncaughtException", (err) => {
    logger.fatal({ err }, "uncaught exception; exiting");
    process.exit(1);
  });
  process.on("unhandledRejection", (err) => {
    logger.fatal({ err }, "unhandled promise rejection; exiting");
    process.exit(1);
  });

  const server = await startServer(config, { logger });
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (signalled) {
      logger.warn({ signal }, "already shutting down; still draining");
      return;
    }
    signalled = true;
    const deadline = setTimeout(() => {
      logger.error(
        {
          timeoutSeconds: config.shutdownTimeoutSeconds,
          queued: server.service.queueDepth,
          unwrittenExperimentRecords: server.models.experiment?.records.depth ?? 0,
        },
        "shutdown timed out; exiting with requests unfinished",
      );
      process.exit(1);
    }, config.shutdownTimeoutSeconds * 1000);
    deadline.unref();
    server.shutdown(signal).then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
}

main().catch((err: unknown) => {
  process.stderr.write(
    `${JSON.stringify({ level: "fatal", time: new Date().toISOString(), msg: `server failed to start: ${String(err)}` })}\n`,
  );
  process.exit(1);
});
