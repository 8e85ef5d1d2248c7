// Validate AsyncAPI documents with the official parser (@asyncapi/parser), offline.
//
//   node validate.mjs FILE...
//
// Each FILE is parsed with its relative $refs resolved from disk (the split document's
// ./schemas/*.json); any diagnostic of severity error or warning fails the run. Prints one
// line per document ("ok: FILE") or per diagnostic, and exits 1 on any failure.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Parser, DiagnosticSeverity } from '@asyncapi/parser';

const parser = new Parser();
let failed = false;
for (const file of process.argv.slice(2)) {
  const source = path.resolve(file);
  const { document, diagnostics } = await parser.parse(await readFile(source, 'utf8'), {
    source,
  });
  const problems = diagnostics.filter(
    (d) => d.severity === DiagnosticSeverity.Error || d.severity === DiagnosticSeverity.Warning,
  );
  for (const d of problems) {
    console.log(`${file}: ${d.code}: ${d.message} at /${d.path.join('/')}`);
  }
  if (document === undefined || problems.length > 0) {
    failed = true;
    console.log(`invalid: ${file}`);
  } else {
    console.log(`ok: ${file} (${document.messages().length} messages)`);
  }
}
process.exit(failed ? 1 : 0);
