// Lint throughput of the npm linters over the same corpus: one warm process, single thread.
// Usage: node npm-linters.js <corpus dir> <seconds> [warm-up seconds, 5]
const fs = require('fs');
const path = require('path');
const dir = process.argv[2];
const seconds = Number(process.argv[3]);
const warmupSeconds = process.argv[4] === undefined ? 5 : Number(process.argv[4]);
const files = fs.readdirSync(dir).filter(f => f.endsWith('.Dockerfile')).sort()
  .map(f => fs.readFileSync(path.join(dir, f), 'utf8'));
const linters = {
  dockerfilelint: (() => { const d = require('dockerfilelint'); return s => d.run('/', s); })(),
  'dockerfile-utils': (() => { const u = require('dockerfile-utils'); return s => u.validate(s); })(),
};
// Every file processed? A linter that throws on a file is counted (and the throw is part of its time: it is what the
// linter does with that file); the count is printed with its figures.
for (const [name, lint] of Object.entries(linters)) {
  let threw = 0;
  for (const f of files) {
    try { lint(f); } catch (e) { threw++; }
  }
  console.log(`${name} processed ${files.length - threw} of ${files.length} files: ${threw} threw`);
}
const safe = lint => s => { try { return lint(s); } catch (e) { return []; } };
for (const [name, unsafe] of Object.entries(linters)) {
  const lint = safe(unsafe);
  let sink = 0;
  const warm = Date.now() + warmupSeconds * 1000;
  while (Date.now() < warm) for (const f of files) sink += lint(f).length;
  const samples = [];
  const cpu0 = process.cpuUsage();
  const start = process.hrtime.bigint();
  const end = start + BigInt(Math.round(seconds * 1e9));
  outer: for (;;) {
    for (const f of files) {
      const t0 = process.hrtime.bigint();
      sink += lint(f).length;
      const t1 = process.hrtime.bigint();
      samples.push(Number(t1 - t0));
      if (t1 > end) break outer;
    }
  }
  const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  samples.sort((a, b) => a - b);
  console.log(`${name}: ${(samples.length / elapsed).toFixed(0)} files/s, ${(samples.length / cpuSeconds).toFixed(0)} files/cpu-s, p50 ${(samples[samples.length >> 1] / 1e6).toFixed(3)} ms, ` +
    `p99 ${(samples[Math.floor(samples.length * 0.99)] / 1e6).toFixed(3)} ms (checksum ${sink % 997})`);
}
