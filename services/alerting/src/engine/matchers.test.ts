import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { MatcherSyntaxError, matchersString, matches, matchesEmpty, parseMatcher, parseMatchers, sortMatchers } from './matchers.ts';

test('the four operators parse, with quoted and unquoted values', () => {
  assert.deepEqual(parseMatcher('severity="critical"'), { name: 'severity', type: '=', value: 'critical' });
  assert.deepEqual(parseMatcher(' severity != warning '), { name: 'severity', type: '!=', value: 'warning' });
  assert.deepEqual(parseMatcher('host=~"web-.*"'), { name: 'host', type: '=~', value: 'web-.*' });
  assert.deepEqual(parseMatcher('host!~db.+'), { name: 'host', type: '!~', value: 'db.+' });
  assert.deepEqual(parseMatcher('a=""'), { name: 'a', type: '=', value: '' });
});

test('escapes in quoted values decode; commas and braces inside quotes are values', () => {
  assert.deepEqual(parseMatcher('summary="say \\"hi\\", then \\\\ {go}\\n"'), {
    name: 'summary',
    type: '=',
    value: 'say "hi", then \\ {go}\n',
  });
  assert.deepEqual(parseMatcher('"odd name"="x"'), { name: 'odd name', type: '=', value: 'x' });
});

test('the list form, with or without braces, trailing comma allowed; {} is no matchers', () => {
  const expected = [
    { name: 'a', type: '=', value: 'b' },
    { name: 'c', type: '=~', value: 'd|e' },
  ];
  assert.deepEqual(parseMatchers('{a="b", c=~"d|e"}'), expected);
  assert.deepEqual(parseMatchers('a="b",c=~"d|e",'), expected);
  assert.deepEqual(parseMatchers(' { a = "b" , c =~ "d|e" , } '), expected);
  assert.deepEqual(parseMatchers('{}'), []);
});

function syntaxError(text: string, reason: RegExp): void {
  assert.throws(
    () => parseMatchers(text),
    (err: unknown) => {
      assert.ok(err instanceof MatcherSyntaxError, String(err));
      assert.equal(err.code, 'MATCHER_INVALID');
      assert.match(err.message, reason);
      return true;
    },
  );
}

test('errors name the problem and where it is', () => {
  syntaxError('', /no matcher/);
  syntaxError('severity', /expected an operator \(=, !=, =~, !~\) after "severity", found "the end" at position 8/);
  syntaxError('severity>"x"', /expected an operator .* found ">"/);
  syntaxError('="x"', /expected a label name, found "=" at position 0/);
  syntaxError('1abc="x"', /"1abc" is not a label name/);
  syntaxError('a="b', /unterminated quoted string at position 2/);
  syntaxError('a="\\q"', /unknown escape "\\\\q"/);
  syntaxError('{a="b"', /missing closing '}'/);
  syntaxError('{a="b"} x', /unexpected "x" after '}'/);
  syntaxError('a="b" c="d"', /expected ',' between matchers, found "c"/);
  syntaxError('a=~"("', /"\(" is not a valid regular expression for "a"/);
  syntaxError('a=="b"', /unknown operator "==" after "a" \(use =, !=, =~ or !~\) at position 1/);
  syntaxError('a=>b', /unknown operator "=>"/);
  assert.throws(() => parseMatcher('a="b", c="d"'), /expected one matcher, found 2/);
});

test('regexes are anchored at both ends', () => {
  const [m] = parseMatchers('host=~"web"');
  assert.equal(matches([m!], { host: 'web' }), true);
  assert.equal(matches([m!], { host: 'web-1' }), false);
  assert.equal(matches([m!], { host: 'my-web' }), false);
  assert.equal(matches(parseMatchers('host=~"a|b"'), { host: 'ab' }), false, 'alternation is inside the anchors');
  assert.equal(matches(parseMatchers('host=~"web\\\\-1"'), { host: 'web-1' }), true, 'RE2 identity escapes are accepted');
});

test("RE2's leading flags and (?P<name>) groups work as in Alertmanager", () => {
  assert.equal(matches(parseMatchers('severity=~"(?i)crit.*"'), { severity: 'CRITICAL' }), true);
  assert.equal(matches(parseMatchers('severity=~"(?i)crit|warn"'), { severity: 'xWARN' }), false, 'still anchored');
  assert.equal(matches(parseMatchers('host=~"(?P<n>web)-[0-9]+"'), { host: 'web-12' }), true);
  assert.throws(() => parseMatchers('a=~"(?U)x"'), /only the flags i, m and s are supported/);
});

test('matches: every matcher must hold; absent labels are empty', () => {
  const ms = parseMatchers('{severity="critical", plan!="p2", host=~"h.*", zone!~"z9"}');
  assert.equal(matches(ms, { severity: 'critical', plan: 'p1', host: 'h1', zone: 'z1' }), true);
  assert.equal(matches(ms, { severity: 'critical', host: 'h1' }), true, 'absent plan is != p2, absent zone is !~ z9');
  assert.equal(matches(ms, { severity: 'warning', plan: 'p1', host: 'h1' }), false);
  assert.equal(matches(ms, { severity: 'critical', plan: 'p2', host: 'h1' }), false);
  assert.equal(matches(ms, { severity: 'critical', plan: 'p1' }), false, 'absent host does not match h.*');
  assert.equal(matches(ms, { severity: 'critical', host: 'h1', zone: 'z9' }), false);
  assert.equal(matches([], { anything: 'x' }), true);
  assert.equal(matches(parseMatchers('a=""'), {}), true);
});

test('matchesEmpty tells matchers that also match a missing label', () => {
  assert.equal(matchesEmpty(parseMatcher('a=""')), true);
  assert.equal(matchesEmpty(parseMatcher('a=~".*"')), true);
  assert.equal(matchesEmpty(parseMatcher('a!="x"')), true);
  assert.equal(matchesEmpty(parseMatcher('a="x"')), false);
  assert.equal(matchesEmpty(parseMatcher('a=~".+"')), false);
});

test("text form is Alertmanager's, sorted by name, value, operator; it parses back", () => {
  const ms = sortMatchers(parseMatchers('{z="1", a!~"x", a="q\\"", a=~"b", "we ird"="v", n!="s", n="s"}'));
  const text = matchersString(ms);
  assert.equal(text, '{a=~"b",a="q\\"",a!~"x",n="s",n!="s","we ird"="v",z="1"}');
  assert.deepEqual(parseMatchers(text), ms);
  assert.equal(
    matchersString(parseMatchers('a="tab\\there\\nnew"')),
    '{a="tab\there\\nnew"}',
    'only backslash, newline and quote are escaped',
  );
});

test("escapes are Go's: \\xNN, \\uNNNN, \\U00NNNNNN and the letters; bad ones are named", () => {
  assert.equal(parseMatcher('a="\\x01\\u00e9\\U0001F600\\a\\b\\f\\v"').value, '\u0001é😀\u0007\b\f\v');
  assert.throws(() => parseMatcher('a="\\x1"'), /unknown escape "\\\\x" in a quoted string .* at position 3/);
  assert.throws(() => parseMatcher('a="\\ud800"'), /escape "\\\\ud800" is not a character/);
});

test('any matchers print as text that parses back to them', () => {
  const name = fc.oneof(fc.stringMatching(/^[a-zA-Z_][a-zA-Z0-9_]{0,8}$/), fc.string({ unit: 'binary', minLength: 1, maxLength: 8 }));
  const one = fc.record({ name, type: fc.constantFrom('=' as const, '!=' as const), value: fc.string({ unit: 'binary', maxLength: 12 }) });
  fc.assert(
    fc.property(fc.array(one, { maxLength: 5 }), (ms) => {
      const sorted = sortMatchers(ms.map((m) => ({ ...m })));
      assert.deepEqual(parseMatchers(matchersString(sorted)), sorted);
    }),
    { numRuns: 500 },
  );
});
