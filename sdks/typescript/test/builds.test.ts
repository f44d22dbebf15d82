/** The package's two builds load, and the generated types match the server's OpenAPI document. */

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { describe, test } from "node:test";

import * as esm from "@faos/sdk";

import { faosBin, sdkRoot } from "./helpers/server.js";

const require = createRequire(import.meta.url);

describe("builds", () => {
  test("require('@faos/sdk') loads the CommonJS build", () => {
    const resolved = require.resolve("@faos/sdk");
    assert.ok(resolved.endsWith(join("dist", "cjs", "index.js")), resolved);
    const cjs = require("@faos/sdk") as typeof esm;
    assert.equal(typeof cjs.Faos, "function");
    assert.equal(typeof cjs.verifyWebhook, "function");
    const client = new cjs.Faos({ apiKey: "k", baseURL: "http://127.0.0.1:1/v1" });
    assert.equal(typeof client.agents.messages.create, "function");
  });

  test("import '@faos/sdk' loads the ES module build", async () => {
    const resolved = import.meta.resolve("@faos/sdk");
    assert.ok(resolved.endsWith("dist/esm/index.js"), resolved);
    assert.equal(typeof esm.Faos, "function");
    assert.equal(esm.default, esm.Faos);
  });

  test("both builds export the same names", () => {
    const cjs = require("@faos/sdk") as Record<string, unknown>;
    const names = (m: object) => Object.keys(m).filter((k) => k !== "__esModule").sort();
    assert.deepEqual(names(cjs), names(esm));
  });

  test("a plain node process can require and import the package", () => {
    const cjsOut = execFileSync(
      process.execPath,
      ["-e", "const {Faos,NotFoundError}=require('@faos/sdk');console.log(typeof Faos, new NotFoundError({status:404,code:'not_found',message:'m'}) instanceof Error)"],
      { cwd: sdkRoot, encoding: "utf8" },
    ).trim();
    assert.equal(cjsOut, "function true");
    const esmOut = execFileSync(
      process.execPath,
      ["--input-type=module", "-e", "import {Faos} from '@faos/sdk'; console.log(typeof Faos, new Faos({apiKey:'k'}).baseURL.endsWith('/v1'))"],
      { cwd: sdkRoot, encoding: "utf8", env: { ...process.env, FAOS_BASE_URL: "" } },
    ).trim();
    assert.equal(esmOut, "function true");
  });

  test("compiled CommonJS and ES module consumers run", async () => {
    const cjs = require("./fixtures/consumer.cjs") as { ok: boolean; errorName: string; verify: boolean };
    assert.deepEqual({ ok: cjs.ok, errorName: cjs.errorName, verify: cjs.verify }, {
      ok: true,
      errorName: "NotFoundError",
      verify: true,
    });
    const mjs = (await import("./fixtures/consumer.mjs")) as { result: object };
    assert.deepEqual(mjs.result, { ok: true, errorName: "NotFoundError", verify: true });
  });
});

/** Paths with their methods, and each schema with its property names. */
function shape(spec: {
  paths: Record<string, Record<string, unknown>>;
  components?: { schemas?: Record<string, { properties?: Record<string, unknown>; oneOf?: unknown[]; enum?: unknown[] }> };
}): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [path, item] of Object.entries(spec.paths)) out[`path ${path}`] = Object.keys(item).sort();
  for (const [name, schema] of Object.entries(spec.components?.schemas ?? {})) {
    const parts = [
      ...Object.keys(schema.properties ?? {}),
      ...(schema.enum ?? []).map((v) => `=${String(v)}`),
      ...(schema.oneOf ? [`oneOf:${schema.oneOf.length}`] : []),
    ];
    out[`schema ${name}`] = parts.sort();
  }
  return out;
}

describe("generated types", () => {
  test("src/generated/openapi.ts matches the server's OpenAPI document (else: npm run generate)", () => {
    const live = JSON.parse(execFileSync(faosBin(), ["openapi"], { encoding: "utf8", maxBuffer: 64 << 20 }));
    const committed = JSON.parse(readFileSync(join(sdkRoot, "openapi.json"), "utf8"));
    assert.deepEqual(
      shape(committed),
      shape(live),
      "The server's API changed: run `npm run generate` in sdks/typescript (FAOS_BIN=…) and review the SDK",
    );
  });
});
