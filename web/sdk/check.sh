#!/usr/bin/env bash
# Checks the browser SDK as an npm package: installs the pinned TypeScript from the lock, type-checks
# web/static's SDK modules from their JSDoc (strict), builds the package (dist/ and the generated
# .d.ts in types/), compiles a TypeScript consumer against it, and lists what npm pack would ship.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

npm ci --no-audit --no-fund
npx --no-install tsc -p . --noEmit
node build.mjs
npx --no-install tsc -p consumer
files=$(npm pack --dry-run --json --ignore-scripts | node -e '
	const [p] = JSON.parse(require("fs").readFileSync(0, "utf8"));
	console.log(p.files.map((f) => f.path).join("\n"));')
for want in package.json dist/podium.js dist/e2ee-worker.js types/podium.d.ts types/room.d.ts; do
	grep -qx "$want" <<<"$files" || { echo "npm pack would not ship $want" >&2; exit 1; }
done
echo "sdk: types check, package has $(wc -l <<<"$files") files"
