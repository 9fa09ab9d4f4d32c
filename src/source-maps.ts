// Preloaded by the image (NODE_OPTIONS=--import=./dist/source-maps.js, see the Dockerfile):
// stack traces map dist/*.js back to src/*.ts, as `--enable-source-maps` did, but only for
// leasecron's own files. `--enable-source-maps` also parsed and kept the source maps of
// node_modules (1,000+ of them in @kubernetes/client-node): +9 MiB of heap after GC, +40 MiB
// of heap committed, and a slower start (bench/README.md "Memory").
import module from 'node:module';

module.setSourceMapsSupport(true, { nodeModules: false, generatedCode: false });
