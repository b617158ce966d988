// Builds realtime_tasks/static/realtime_tasks/task-progress.js from frontend/index.js.
// `node frontend/build.mjs --check` builds into a temporary file instead and fails if the committed
// file differs from it, so CI catches a stale build.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const repo = dirname(dirname(fileURLToPath(import.meta.url)));
const target = join(repo, "realtime_tasks", "static", "realtime_tasks", "task-progress.js");
const check = process.argv.includes("--check");
const temp = check ? mkdtempSync(join(tmpdir(), "task-progress-")) : null;
const outfile = temp ? join(temp, "task-progress.js") : target;

await build({
  entryPoints: [join(repo, "frontend", "index.js")],
  outfile,
  bundle: true,
  format: "esm",
  target: "es2022",
  charset: "utf8",
  legalComments: "none",
  banner: { js: "// Built from frontend/ by `npm run build`: edit the sources, not this file." },
  logLevel: "warning",
});

if (temp) {
  let committed = "";
  try {
    committed = readFileSync(target, "utf8");
  } catch {
    // Missing: reported as a difference below.
  }
  const fresh = readFileSync(outfile, "utf8");
  rmSync(temp, { recursive: true, force: true });
  if (committed !== fresh) {
    console.error(`${relative(repo, target)} is not the build of frontend/: run \`npm run build\`.`);
    process.exit(1);
  }
  console.log(`${relative(repo, target)} is up to date.`);
} else {
  console.log(`wrote ${relative(repo, target)}`);
}
