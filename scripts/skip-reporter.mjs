// A node:test reporter that writes one JSON line per skipped test (file, name, reason), so that
// run-tests.mjs can say which suites did not run here and why.
export default async function* skipReporter(source) {
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    const { skip, name, file } = event.data;
    if (skip === undefined || skip === false) continue;
    yield `${JSON.stringify({ file: file ?? '', name, reason: typeof skip === 'string' ? skip : '(no reason given)' })}\n`;
  }
}
