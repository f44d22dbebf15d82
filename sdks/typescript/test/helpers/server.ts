/**
 * Test fixture: a real `faos serve` (the binary at $FAOS_BIN, default
 * <repo>/target/debug/faos) on a free port with a temporary SQLite database,
 * on the enterprise plan with generous limits, allowed to call loopback
 * (webhook receivers in the tests).
 */

import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
/** The SDK's directory (tests are compiled to build-test/test/helpers). */
export const sdkRoot = resolve(here, "../../..");

export function faosBin(): string {
  const bin = process.env["FAOS_BIN"] || resolve(sdkRoot, "../../target/debug/faos");
  if (!existsSync(bin)) {
    throw new Error(`No faos binary at ${bin}: build it (cargo build) or set FAOS_BIN`);
  }
  return bin;
}

export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === "object") resolvePort(address.port);
        else reject(new Error("no port"));
      });
    });
  });
}

export interface TestServer {
  bin: string;
  baseURL: string;
  /** A live secret key of the `default` organization. */
  apiKey: string;
  /** A test (sandbox) secret key of the same organization. */
  testKey: string;
  databaseURL: string;
  /** The server's log (stdout and stderr). */
  log(): string;
  stop(): Promise<void>;
}

export async function startServer(env: Record<string, string> = {}): Promise<TestServer> {
  const bin = faosBin();
  const dir = mkdtempSync(join(tmpdir(), "faos-sdk-ts-"));
  const databaseURL = `sqlite://${join(dir, "faos.db")}`;
  const cli = (...args: string[]) =>
    execFileSync(bin, args, {
      encoding: "utf8",
      env: { ...process.env, FAOS_LOG: "warn" },
      stdio: ["ignore", "pipe", "pipe"],
    }).trim();

  // Lift the starter plan's 60 requests/min before anything else; this
  // creates the `default` organization, so `serve` prints no keys of its
  // own and the keys come from `faos keys create`.
  cli("orgs", "set-plan", "--database", databaseURL, "--org", "default", "--plan", "enterprise",
    "--per-minute", "1000000", "--per-day", "100000000");
  const apiKey = lastLine(cli("keys", "create", "--database", databaseURL, "--org", "default", "--name", "sdk tests"));
  const testKey = lastLine(
    cli("keys", "create", "--database", databaseURL, "--org", "default", "--mode", "test", "--name", "sdk tests (test)"),
  );
  if (!apiKey.startsWith("sk_live_") || !testKey.startsWith("sk_test_")) {
    throw new Error(`faos keys create printed unexpected keys: ${apiKey} / ${testKey}`);
  }

  const port = await freePort();
  const logPath = join(dir, "serve.log");
  const logFile = createWriteStream(logPath);
  const child: ChildProcess = spawn(bin, ["serve", "--addr", `127.0.0.1:${port}`, "--database", databaseURL], {
    env: {
      ...process.env,
      FAOS_OUTBOUND_ALLOW: "127.0.0.1",
      FAOS_WEBHOOK_RETRY_SCHEDULE: "1,1,1",
      FAOS_LOG: "warn",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout?.pipe(logFile);
  child.stderr?.pipe(logFile);
  let exited: number | null = null;
  child.on("exit", (code) => {
    exited = code ?? -1;
  });
  // Never leave a server behind, even when a test run dies.
  const killOnExit = () => child.kill("SIGKILL");
  process.once("exit", killOnExit);

  const log = () => (existsSync(logPath) ? readFileSync(logPath, "utf8") : "");
  const root = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (exited !== null) throw new Error(`faos serve exited with ${exited}:\n${log()}`);
    try {
      const response = await fetch(`${root}/healthz`);
      if (response.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`faos serve did not become healthy:\n${log()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }

  return {
    bin,
    baseURL: `${root}/v1`,
    apiKey,
    testKey,
    databaseURL,
    log,
    async stop() {
      if (exited === null) {
        const done = new Promise<void>((r) => child.once("exit", () => r()));
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
        await done;
        clearTimeout(timer);
      }
      process.removeListener("exit", killOnExit);
      logFile.end();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function lastLine(text: string): string {
  const lines = text.split("\n").map((l) => l.trim()).filter(Boolean);
  return lines[lines.length - 1] ?? "";
}

/** Whether the server's OpenAPI document has the OAuth token endpoint. */
export function serverHasOAuth(bin: string = faosBin()): boolean {
  const spec = JSON.parse(execFileSync(bin, ["openapi"], { encoding: "utf8", maxBuffer: 64 << 20 })) as {
    paths: Record<string, unknown>;
  };
  return "/v1/oauth/token" in spec.paths;
}
