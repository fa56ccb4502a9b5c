// Differential test: our KQL validation against Kusto.Language
// (@kusto/language-service-next, used as a black-box oracle).
//
//   node kql_oracle.js THREATMAPPER_BINARY WORKDIR
// Exit 1 when the two disagree on any query not marked `gap`.
require('@kusto/language-service-next/bridge.js');
require('@kusto/language-service-next');
const fs = require('fs');
const path = require('path');
const { execFileSync, spawnSync } = require('child_process');

const K = global.Kusto.Language;
const [binary, work] = process.argv.slice(2);

function oracleAccepts(q) {
  return K.KustoCode.Parse(q).GetDiagnostics().Count === 0;
}

const cases = [];
for (const line of fs.readFileSync(path.join(__dirname, 'kql_queries.txt'), 'utf8').split('\n')) {
  if (!line || line.startsWith('#')) continue;
  const tab = line.indexOf('\t');
  cases.push([line.slice(0, tab), line.slice(tab + 1).replace(/\\n/g, '\n')]);
}
const report = path.join(work, 'report.json');
fs.writeFileSync(report, JSON.stringify({ id: 'r', title: 't', observables: [
  { kind: 'ipv4', value: '203.0.113.7' }, { kind: 'domain', value: 'evil.example.net' },
  { kind: 'sha256', value: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' }] }));
const gen = execFileSync(binary, ['rules', 'generate', '--lang', 'kql', '--report', report], { encoding: 'utf8' });
cases.push(['valid', gen.replace(/REPLACE_WITH_BEHAVIOR/g, '-enc')]);
fs.writeFileSync(report, JSON.stringify({ id: 'r', title: 't', observables: [] }));
const gen2 = execFileSync(binary, ['rules', 'generate', '--lang', 'kql', '--report', report], { encoding: 'utf8' });
cases.push(['valid', gen2.replace(/REPLACE_WITH_BEHAVIOR/g, '-enc')]);

const dir = path.join(work, 'kql');
fs.mkdirSync(dir, { recursive: true });
cases.forEach(([, q], i) => fs.writeFileSync(path.join(dir, `q${String(i).padStart(3, '0')}.kql`), q + '\n'));
const out = spawnSync(binary, ['rules', 'validate', '--format', 'json', dir], { encoding: 'utf8' });
const ours = {};
for (const f of JSON.parse(out.stdout).files) {
  ours[parseInt(path.basename(f.path).slice(1, 4), 10)] = f.status !== 'invalid';
}
let agree = 0, gaps = 0;
const bad = [];
cases.forEach(([label, q], i) => {
  if (label === 'gap') { gaps++; return; }
  const theirs = oracleAccepts(q);
  if (ours[i] === theirs && theirs === (label === 'valid')) agree++;
  else bad.push(`${label}: ours=${ours[i] ? 'ok' : 'error'} kusto=${theirs ? 'ok' : 'error'}: ${JSON.stringify(q)}`);
});
console.log(`kql oracle: ${agree} agree, ${bad.length} disagree, ${gaps} known gaps`);
for (const b of bad) console.log('  ' + b);
process.exit(bad.length ? 1 : 0);
