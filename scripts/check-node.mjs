// Fails fast when the project's pinned Node (node_modules/.bin/node, from the
// `node` npm package) is not the one running: mongodb 7 and client-node 2 need >= 22.
const major = Number(process.versions.node.split('.')[0]);
if (major < 22) {
  console.error(
    `leasecron needs Node >= 22 but this is ${process.version} (${process.execPath}).\n` +
      'Run `make setup` (or `npm ci`) and call the tools through `make` or `npm run`, which put node_modules/.bin first on PATH.',
  );
  process.exit(1);
}
