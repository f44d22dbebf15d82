/** The README's quick start runs as written against a live server. */

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { after, before, test } from "node:test";

import { sdkRoot, startServer, type TestServer } from "./helpers/server.js";

let server: TestServer;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server?.stop();
});

test("README quick start", async () => {
  const readme = readFileSync(join(sdkRoot, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf("## Quick start"));
  const match = /```js\n([\s\S]*?)```/.exec(section);
  assert.ok(match?.[1], "a ```js block in the Quick start section");
  // Inside the package directory, so `@faos/sdk` resolves to this package.
  const dir = join(sdkRoot, "build-test");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, "quickstart.mjs");
  writeFileSync(file, match[1]);
  const { stdout } = await promisify(execFile)(process.execPath, [file], {
    cwd: dir,
    env: { ...process.env, FAOS_API_KEY: server.testKey, FAOS_BASE_URL: server.baseURL },
    timeout: 60_000,
  });
  assert.match(stdout, /^created agt_/m);
  assert.match(stdout, /^reply: .+/m);
  assert.match(stdout, /^run succeeded HELLO$/m);
});
